"""Tenant-leading GIN indexes for product search (btree_gin), replacing the global ones.

A search within one organization read the global GIN indexes' entries of every tenant (62,000
matches of a common word among 1M products) before keeping one organization's; the
``(organization_id, …)`` indexes read that organization's entries only. A multicolumn GIN index
also answers a condition on its second column alone, so the cross-tenant public search uses
them too and the single-column indexes go (one GIN index less to update per product write).

Built and dropped CONCURRENTLY (``atomic = False``): on a large catalog the builds take
seconds to minutes, and product writes must not wait for them. The new indexes are built
before the old ones are dropped, so search always has one. On an empty database (tests, a new
install) this is instant.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import AddIndexConcurrently, BtreeGinExtension, RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0007_product_images"),
    ]

    operations = [
        BtreeGinExtension(),
        AddIndexConcurrently(
            model_name="product",
            index=GinIndex(
                fields=["organization", "search_vector"],
                opclasses=["uuid_ops", "tsvector_ops"],
                name="product_org_search_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="product",
            index=GinIndex(
                fields=["organization", "name"],
                opclasses=["uuid_ops", "gin_trgm_ops"],
                name="product_org_name_trgm_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="product", name="product_search_idx"),
        RemoveIndexConcurrently(model_name="product", name="product_name_trgm_idx"),
    ]
