"""A tenant's products newest first: ``(organization_id, created_at, id)`` of the products not deleted.

A search lists its matches newest first (docs/catalog.md). Without this index, a search within a
large organization either ranked every match (O(matches)) or walked the whole table's
``created_at`` index past every other tenant's newer products (109 ms for the oldest of three
100,000-product tenants in the scale benchmark); with it the page reads the tenant's newest
entries until it holds a page of matches (1 ms). The tenant's plain newest-first list reads it
as an index-only scan.

Built CONCURRENTLY (``atomic = False``): product writes do not wait for it (about 1 s per million
products here).
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0008_tenant_search_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "created_at", "id"],
                name="product_org_created_idx",
            ),
        ),
    ]
