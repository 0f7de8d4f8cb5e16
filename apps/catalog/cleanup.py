"""Cleanup: products soft-deleted more than ``SOFT_DELETE_RETENTION_DAYS`` ago are deleted for good."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.catalog.images import product_images_purge_files
from apps.catalog.models import Product
from apps.jobs.housekeeping import cleanup_step


@cleanup_step("catalog.soft_deleted_products")
def soft_deleted_products() -> int:
    cutoff = timezone.now() - timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)
    # Their variants go with them (cascade); the step counts products.
    purged = Product.objects.filter(deleted_at__lt=cutoff)
    with transaction.atomic():
        product_images_purge_files(products=purged)  # any stored file left: removed once the purge commits
        _, deleted = purged.delete()
    return deleted.get(Product._meta.label, 0)
