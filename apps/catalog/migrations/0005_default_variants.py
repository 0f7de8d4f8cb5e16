from django.db import migrations


def forwards(apps, schema_editor):
    """Every product (soft-deleted ones too) gets one default variant with its SKU and stock; its order lines point at it.

    Set-based (two statements), so it runs the same on a large catalog. The
    price override stays null: the variant sells at the product's price.
    """
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO catalog_productvariant (
                id, created_at, updated_at, organization_id, product_id, sku, option_values, price_cents,
                compare_at_price_cents, track_inventory, inventory_quantity, allow_backorder, position, is_default,
                deleted_at
            )
            SELECT gen_random_uuid(), p.created_at, now(), p.organization_id, p.id, p.sku, '{}'::jsonb, NULL, NULL,
                   p.track_inventory, p.inventory_quantity, p.allow_backorder, 0, TRUE, p.deleted_at
            FROM catalog_product p
            WHERE NOT EXISTS (SELECT 1 FROM catalog_productvariant v WHERE v.product_id = p.id)
            """
        )
        cursor.execute("UPDATE catalog_product SET variant_skus = sku")
        cursor.execute(
            """
            UPDATE orders_orderitem i SET variant_id = v.id
            FROM catalog_productvariant v
            WHERE v.product_id = i.product_id AND v.is_default AND i.variant_id IS NULL
            """
        )


def backwards(apps, schema_editor):
    """Copy the default variant's SKU and stock back onto the product (0006 reversed re-added the columns)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE catalog_product p SET sku = v.sku, track_inventory = v.track_inventory,
                   inventory_quantity = v.inventory_quantity, allow_backorder = v.allow_backorder
            FROM catalog_productvariant v WHERE v.product_id = p.id AND v.is_default
            """
        )
        cursor.execute("UPDATE orders_orderitem SET variant_id = NULL")
        cursor.execute("DELETE FROM catalog_productvariant")


class Migration(migrations.Migration):
    dependencies = [
        ('catalog', '0004_product_variants'),
        ('orders', '0003_orderitem_variant'),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
