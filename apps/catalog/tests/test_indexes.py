"""The list queries are served by indexes on a catalog of realistic shape (EXPLAIN, after ANALYZE).

What the planner picks here: tenant lists walk the organization (FK) or
created_at index, the storefront walks created_at with an incremental sort on
id, price filters use (organization, price_cents). A search within a tenant
pages a common word by walking the tenant's newest-first index
(organization_id, created_at, id) and finds a rare one through the
tenant-leading GIN index (organization_id, search_vector); its typo fallback
reads (organization_id, name gin_trgm_ops); all with the organization as an
index condition. A sequential scan in any of these plans means an index went missing.
"""

import re

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.catalog import selectors
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory, copy_products
from apps.organizations.tests.factories import OrganizationFactory
from tools.bench.scale import WORDS as SCALE_WORDS

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


def plan(queryset, *, bitmap_only: bool = False, no_seqscan: bool = False) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        # Statistics of the rows at hand, not of whatever earlier tests left behind.
        cursor.execute("ANALYZE catalog_product")
        cursor.execute("ANALYZE organizations_organization")
        if no_seqscan:
            # A table of thousands of rows is cheaper to read whole; at scale it is not: which index then?
            cursor.execute("SET LOCAL enable_seqscan = off")
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


# The scale benchmark's word list: a word is in about one name in 15.
WORDS = tuple(SCALE_WORDS)
SEARCH_ROWS = 30_000
SEARCH_TERM = "espresso"


@pytest.fixture
def searchable(organization):
    """Products named from a word list (a word in about one name in 15), generated set-based
    as the scale benchmark does: ``organization`` holds half of them, 39 other tenants the rest, one in
    seven soft-deleted."""
    tenants = [organization, *OrganizationFactory.create_batch(39)]
    template = ProductFactory(organization=organization, name="espresso lamp", status="active")
    copy_products(
        template=template,
        tenants=tenants,
        count=SEARCH_ROWS,
        created_at="p.created_at - g * interval '1 second'",
        name="(%(words)s::text[])[1 + g %% %(n)s] || ' ' || (%(words)s::text[])[1 + (g / 7) %% %(n)s] || ' ' || g",
        params={"words": list(WORDS), "n": len(WORDS)},
    )
    return organization


def _tenant_search(organization, term):
    # As the product list builds it: what the caller may see, one organization, then the search.
    return selectors.apply_search(
        selectors.visible_products(user=None, member_of=frozenset({organization.pk})).filter(organization=organization),
        term,
    )[:26]


def test_search_within_an_organization_pages_a_common_word_from_the_tenant_newest_first_index(searchable):
    # given: the tenant's products are all older than every other tenant's (as for the oldest of the
    # scale benchmark's large tenants), so walking the whole table's created_at index would pass every
    # other tenant's products before the first of its own
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_product SET created_at = created_at - interval '365 days' WHERE organization_id = %s",
            [searchable.pk],
        )
    # when
    text = plan(_tenant_search(searchable, SEARCH_TERM))
    # then: the page reads the tenant's own newest-first entries until it holds 26 matches
    assert "Index Scan Backward using product_org_created_idx" in text, text
    assert re.search(r"Index Cond: \(+organization_id = ", text), text
    assert "catalog_product_created_at" not in text, text
    assert "Sort Key" not in text, text  # no sort of every match


def test_search_within_an_organization_finds_a_rare_word_through_the_tenant_leading_gin_index(searchable):
    # a name's number: one product
    text = plan(_tenant_search(searchable, "12346"))
    assert "Seq Scan" not in text, text
    assert "Bitmap Index Scan on product_org_search_idx" in text, text
    assert re.search(r"Index Cond: \(+organization_id = ", text), text


def test_typo_fallback_within_an_organization_reads_the_tenant_leading_trigram_index(searchable):
    queryset = _tenant_search(searchable, "espreso")
    assert "rank" in queryset.query.annotations  # nothing matched in full text: the names like it
    text = plan(queryset, bitmap_only=True)
    assert "Bitmap Index Scan on product_org_name_trgm_idx" in text, text
    assert re.search(r"Index Cond: \(+organization_id = ", text), text


def test_search_across_organizations_can_read_the_same_gin_indexes(searchable):
    # The public list without an organization: the multicolumn GIN indexes answer on their second
    # column alone (without the soft-delete predicate only they can serve the match).
    assert "product_org_search_idx" in plan(selectors.apply_search(Product.objects.all(), "12346"), bitmap_only=True)
    fallback = selectors.apply_search(Product.objects.all(), "espreso")
    assert "product_org_name_trgm_idx" in plan(fallback, bitmap_only=True)


def test_price_filter_within_an_organization_uses_the_price_index(populated):
    queryset = (
        Product.objects.alive().filter(organization=populated, price_cents__gte=500).order_by("price_cents")[:100]
    )
    assert "product_org_price_idx" in plan(queryset)
