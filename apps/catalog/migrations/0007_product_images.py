import apps.catalog.models
import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


def urls_to_rows(apps, schema_editor):
    """Images given as URL strings become ProductImage rows with that external URL (no file), in their order,
    and the product's ``images`` the list of objects every read now shows: nothing is lost."""
    Product = apps.get_model("catalog", "Product")
    ProductImage = apps.get_model("catalog", "ProductImage")
    products = Product.objects.exclude(images=[]).only("id", "organization_id", "images")
    for product in products.iterator(chunk_size=500):
        if not isinstance(product.images, list):
            product.images = []
            Product.objects.filter(pk=product.pk).update(images=[])
            continue
        urls = [url for url in product.images if isinstance(url, str) and url][:10]
        rows = [
            ProductImage(
                id=uuid.uuid4(),
                organization_id=product.organization_id,
                product_id=product.pk,
                external_url=url[:500],
                position=position,
            )
            for position, url in enumerate(urls)
        ]
        ProductImage.objects.bulk_create(rows)
        images = [
            {"id": str(row.id), "url": row.external_url, "width": None, "height": None, "alt": "", "position": row.position}
            for row in rows
        ]
        Product.objects.filter(pk=product.pk).update(images=images)


def rows_to_urls(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    for product in Product.objects.exclude(images=[]).only("id", "images").iterator(chunk_size=500):
        urls = [entry["url"] for entry in product.images if isinstance(entry, dict) and entry.get("url")]
        Product.objects.filter(pk=product.pk).update(images=urls)


class Migration(migrations.Migration):
    """Product images as uploads (issue 16): ProductImage rows, and ``Product.images`` their read-only list."""

    dependencies = [
        ('catalog', '0006_drop_product_stock_columns'),
        ('organizations', '0003_moderate_reviews_permission'),
    ]

    operations = [
        migrations.AlterField(
            model_name='product',
            name='images',
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.CreateModel(
            name='ProductImage',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('file', models.FileField(blank=True, max_length=255, upload_to=apps.catalog.models.product_image_path)),
                ('external_url', models.URLField(blank=True, help_text='An image given as a URL (no file).', max_length=500)),
                ('position', models.PositiveSmallIntegerField(default=0, help_text='0 first; positions are 0..n-1.')),
                ('alt', models.CharField(blank=True, max_length=200)),
                ('width', models.PositiveIntegerField(blank=True, null=True)),
                ('height', models.PositiveIntegerField(blank=True, null=True)),
                ('content_type', models.CharField(blank=True, max_length=32)),
                ('size_bytes', models.PositiveIntegerField(blank=True, null=True)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='product_images', to='organizations.organization')),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='image_set', to='catalog.product')),
            ],
            options={
                'ordering': ['product', 'position', 'created_at'],
                'indexes': [models.Index(fields=['product', 'position'], name='product_image_position_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('file', ''), _negated=True), models.Q(('external_url', ''), _negated=True), _connector='OR'), name='catalog_product_image_has_source')],
            },
        ),
        migrations.RunPython(urls_to_rows, rows_to_urls),
    ]
