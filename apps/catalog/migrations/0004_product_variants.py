import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """Product variants (issue 16): the table. 0005 gives every product its default variant, 0006 drops
    the product's own SKU and stock columns."""

    dependencies = [
        ('catalog', '0003_product_ratings'),
        ('organizations', '0003_moderate_reviews_permission'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProductVariant',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('sku', models.CharField(blank=True, max_length=64)),
                ('option_values', models.JSONField(blank=True, default=dict, help_text='e.g. {"size": "M", "color": "red"}')),
                ('price_cents', models.BigIntegerField(blank=True, help_text="Null: the product's price.", null=True)),
                ('compare_at_price_cents', models.BigIntegerField(blank=True, help_text="Null: the product's.", null=True)),
                ('track_inventory', models.BooleanField(default=True)),
                ('inventory_quantity', models.IntegerField(default=0)),
                ('allow_backorder', models.BooleanField(default=False)),
                ('position', models.IntegerField(default=0)),
                ('is_default', models.BooleanField(default=False)),
                ('deleted_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='product_variants', to='organizations.organization')),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variants', to='catalog.product')),
            ],
            options={
                'ordering': ['product', 'position', 'created_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='product',
            name='variant_skus',
            field=models.TextField(blank=True, default='', editable=False),
        ),
        migrations.AddConstraint(
            model_name='productvariant',
            constraint=models.CheckConstraint(condition=models.Q(('price_cents__isnull', True), ('price_cents__gte', 0), _connector='OR'), name='catalog_variant_price_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='productvariant',
            constraint=models.CheckConstraint(condition=models.Q(('compare_at_price_cents__isnull', True), ('compare_at_price_cents__gte', 0), _connector='OR'), name='catalog_variant_compare_at_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='productvariant',
            constraint=models.CheckConstraint(condition=models.Q(('inventory_quantity__gte', 0), ('allow_backorder', True), ('track_inventory', False), _connector='OR'), name='catalog_variant_stock_gte_0'),
        ),
        migrations.AddConstraint(
            model_name='productvariant',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('product',), name='catalog_variant_one_default'),
        ),
        migrations.AddConstraint(
            model_name='productvariant',
            constraint=models.UniqueConstraint(fields=('product', 'option_values'), name='catalog_variant_options_unique'),
        ),
        migrations.AddConstraint(
            model_name='productvariant',
            constraint=models.UniqueConstraint(condition=models.Q(models.Q(('sku', ''), _negated=True), ('deleted_at__isnull', True)), fields=('organization', 'sku'), name='catalog_variant_sku_unique_alive'),
        ),
    ]
