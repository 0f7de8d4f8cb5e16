from django.db import migrations, models


class Migration(migrations.Migration):
    """Approved reviews' count and sum on the product (kept by apps.reviews)."""

    dependencies = [
        ('catalog', '0002_categories'),
    ]

    operations = [
        migrations.AddField(
            model_name='product',
            name='rating_count',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='product',
            name='rating_sum',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
