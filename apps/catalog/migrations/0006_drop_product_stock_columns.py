import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models


class Migration(migrations.Migration):
    """SKU and stock now live on the variants (0005 copied them): the product's columns go, and the
    search vector reads the variants' SKUs (``variant_skus``, kept by the services) instead."""

    dependencies = [
        ('catalog', '0005_default_variants'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='product',
            name='catalog_product_stock_gte_0',
        ),
        migrations.RemoveConstraint(
            model_name='product',
            name='catalog_product_sku_unique_alive',
        ),
        migrations.RemoveIndex(
            model_name='product',
            name='product_search_idx',
        ),
        # A generated column cannot change its expression: dropped and added again.
        migrations.RemoveField(
            model_name='product',
            name='search_vector',
        ),
        migrations.RemoveField(
            model_name='product',
            name='allow_backorder',
        ),
        migrations.RemoveField(
            model_name='product',
            name='inventory_quantity',
        ),
        migrations.RemoveField(
            model_name='product',
            name='sku',
        ),
        migrations.RemoveField(
            model_name='product',
            name='track_inventory',
        ),
        migrations.AddField(
            model_name='product',
            name='search_vector',
            field=models.GeneratedField(db_persist=True, expression=django.contrib.postgres.search.CombinedSearchVector(django.contrib.postgres.search.CombinedSearchVector(django.contrib.postgres.search.SearchVector('name', config='english', weight='A'), '||', django.contrib.postgres.search.SearchVector('description', config='english', weight='B'), django.contrib.postgres.search.SearchConfig('english')), '||', django.contrib.postgres.search.SearchVector('variant_skus', config='simple', weight='C'), django.contrib.postgres.search.SearchConfig('english')), output_field=django.contrib.postgres.search.SearchVectorField()),
        ),
        migrations.AddIndex(
            model_name='product',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='product_search_idx'),
        ),
    ]
