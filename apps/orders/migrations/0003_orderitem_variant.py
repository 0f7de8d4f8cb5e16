import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Order lines record the variant sold (filled for existing lines by catalog 0005); one line per variant."""

    dependencies = [
        ('catalog', '0004_product_variants'),
        ('orders', '0002_order_counter_usage_month'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='orderitem',
            name='orders_item_product_unique',
        ),
        migrations.AddField(
            model_name='orderitem',
            name='variant',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='order_items', to='catalog.productvariant'),
        ),
        migrations.AddConstraint(
            model_name='orderitem',
            constraint=models.UniqueConstraint(condition=models.Q(('variant__isnull', False)), fields=('order', 'variant'), name='orders_item_variant_unique'),
        ),
    ]
