"""The variants data migration (catalog 0005) on a realistic catalog, migrated back to before variants and forward.

Products of two organizations: with and without SKUs, on backorder with negative stock,
untracked, soft deleted (whose SKU another product reuses), with order lines pointing at them.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.organizations.tests.factories import OrganizationFactory

BEFORE = [("catalog", "0003_product_ratings"), ("orders", "0002_order_counter_usage_month")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_every_product_gets_one_default_variant_with_its_sku_and_stock_and_order_lines_follow():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE)
    try:
        Product = old.get_model("catalog", "Product")
        Order = old.get_model("orders", "Order")
        OrderItem = old.get_model("orders", "OrderItem")
        shop, other = OrganizationFactory(), OrganizationFactory()
        customer = UserFactory()

        def product(organization, slug, **fields):
            fields = {"price_cents": 1000, "currency": "USD", "status": "active", **fields}
            return Product.objects.create(organization_id=organization.pk, name=slug.title(), slug=slug, **fields)

        rows = {
            "plain": product(shop, "plain", sku="SHOP-1", inventory_quantity=7),
            "no_sku": product(shop, "no-sku", sku="", inventory_quantity=0),
            "backorder": product(shop, "backorder", sku="SHOP-2", inventory_quantity=-3, allow_backorder=True),
            "untracked": product(shop, "untracked", sku="SHOP-3", track_inventory=False, inventory_quantity=0),
            "deleted": product(shop, "deleted", sku="SHOP-4", inventory_quantity=2, deleted_at=timezone.now()),
            # the deleted product's SKU, reused by a live one (allowed before: SKUs are unique among the alive)
            "reuse": product(shop, "reuse", sku="SHOP-4", inventory_quantity=1),
            # another organization may use the same SKU
            "theirs": product(other, "plain", sku="SHOP-1", inventory_quantity=5, price_cents=2500),
        }
        order = Order.objects.create(
            organization_id=shop.pk, user_id=customer.pk, order_number=1001, currency="USD",
            subtotal_cents=3000, total_cents=3000, shipping_address={}, billing_address={},
        )  # fmt: skip
        for position, name in enumerate(("plain", "deleted", "backorder")):
            OrderItem.objects.create(
                order=order, product=rows[name], position=position, quantity=1, unit_price_cents=1000,
                total_cents=1000, product_snapshot={"id": str(rows[name].pk), "sku": "as sold"},
            )  # fmt: skip

        new = _migrate(leaves)

        Variant = new.get_model("catalog", "ProductVariant")
        NewItem = new.get_model("orders", "OrderItem")
        NewProduct = new.get_model("catalog", "Product")
        variants = {name: list(Variant.objects.filter(product_id=p.pk)) for name, p in rows.items()}
        assert {name: len(found) for name, found in variants.items()} == dict.fromkeys(rows, 1)
        got = {
            name: (
                v.sku, v.inventory_quantity, v.track_inventory, v.allow_backorder, v.is_default, v.price_cents,
                v.option_values, v.organization_id, v.deleted_at is not None,
            )
            for name, (v,) in variants.items()
        }  # fmt: skip
        assert got == {
            "plain": ("SHOP-1", 7, True, False, True, None, {}, shop.pk, False),
            "no_sku": ("", 0, True, False, True, None, {}, shop.pk, False),
            "backorder": ("SHOP-2", -3, True, True, True, None, {}, shop.pk, False),
            "untracked": ("SHOP-3", 0, False, False, True, None, {}, shop.pk, False),
            "deleted": ("SHOP-4", 2, True, False, True, None, {}, shop.pk, True),
            "reuse": ("SHOP-4", 1, True, False, True, None, {}, shop.pk, False),
            "theirs": ("SHOP-1", 5, True, False, True, None, {}, other.pk, False),
        }
        # order lines point at the variant of their product; the snapshot is left as sold
        for item in NewItem.objects.filter(order_id=order.pk):
            assert item.variant_id == variants_of(variants, item.product_id)
            assert item.product_snapshot["sku"] == "as sold"
        # the SKU stays searchable (the product's copy feeds its search vector)
        assert NewProduct.objects.get(pk=rows["plain"].pk).variant_skus == "SHOP-1"
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def variants_of(variants, product_id):
    return next(found[0].pk for found in variants.values() if found[0].product_id == product_id)
