"""The list queries are served by indexes on a catalog of realistic shape (EXPLAIN, after ANALYZE).

What the planner picks here: tenant lists walk the organization (FK) or
created_at index, the storefront walks created_at with an incremental sort on
id, price filters use (organization, price_cents), and search reads the two GIN
indexes. A sequential scan in any of these plans means an index went missing.
"""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.catalog import selectors
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def populated(organization):
    """A catalog shaped like a real one: many tenants, their products interleaved in time."""
    # One large tenant among many small ones.
    tenants = [organization, *OrganizationFactory.create_batch(19)]
    rows = [
        Product(
            organization=organization if n % 2 else tenants[n % len(tenants)],
            name=f"Item {n}",
            slug=f"item-{n}",
            price_cents=n,
            currency="USD",
            status="draft" if n % 10 == 0 else "active",
            deleted_at=timezone.now() if n % 3 == 0 else None,
        )
        for n in range(8000)
    ]
    Product.objects.bulk_create(rows)
    return organization


def plan(queryset, *, bitmap_only: bool = False) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        # Statistics of the rows at hand, not of whatever earlier tests left behind.
        cursor.execute("ANALYZE catalog_product")
        if bitmap_only:
            cursor.execute("SET LOCAL enable_seqscan = off")  # GIN indexes are read through bitmap scans only
            cursor.execute("SET LOCAL enable_indexscan = off")
        return queryset.explain()


def test_organization_list_newest_first_uses_the_tenant_index(populated):
    organization = populated
    queryset = Product.objects.alive().filter(organization=organization).order_by("-created_at", "-id")[:100]
    assert "Seq Scan" not in plan(queryset)


def test_public_list_uses_the_storefront_index(populated):
    queryset = Product.objects.public().order_by("-created_at", "-id")[:100]
    assert "Seq Scan" not in plan(queryset)


def test_full_text_search_uses_the_gin_index(organization):
    ProductFactory(organization=organization, name="Espresso Machine")
    # Without the soft-delete predicate only the two GIN indexes can serve the match.
    queryset = selectors.apply_search(Product.objects.all(), "espresso")
    text = plan(queryset, bitmap_only=True)
    assert "product_search_idx" in text
    assert "product_name_trgm_idx" in text


def test_price_filter_within_an_organization_uses_the_price_index(populated):
    queryset = (
        Product.objects.alive().filter(organization=populated, price_cents__gte=500).order_by("price_cents")[:100]
    )
    assert "product_org_price_idx" in plan(queryset)
