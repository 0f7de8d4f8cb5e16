"""The list queries have indexes to use (planner told to avoid sequential scans on tiny test tables)."""

import pytest
from django.db import connection, transaction

from apps.catalog import selectors
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def plan(queryset, *, bitmap_only: bool = False) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if bitmap_only:  # GIN indexes are read through bitmap scans only
            cursor.execute("SET LOCAL enable_indexscan = off")
        return queryset.explain()


def test_organization_list_newest_first_uses_the_tenant_index(organization):
    ProductFactory.create_batch(3, organization=organization)
    queryset = Product.objects.alive().filter(organization=organization).order_by("-created_at", "-id")[:100]
    assert "product_org_created_idx" in plan(queryset)


def test_public_list_uses_the_storefront_index(organization):
    ProductFactory.create_batch(3, organization=organization)
    queryset = Product.objects.public().order_by("-created_at", "-id")[:100]
    assert "product_public_idx" in plan(queryset)


def test_full_text_search_uses_the_gin_index(organization):
    ProductFactory(organization=organization, name="Espresso Machine")
    # Without the soft-delete predicate only the two GIN indexes can serve the match.
    queryset = selectors.apply_search(Product.objects.all(), "espresso")
    text = plan(queryset, bitmap_only=True)
    assert "product_search_idx" in text
    assert "product_name_trgm_idx" in text


def test_price_filter_within_an_organization_uses_the_price_index(organization):
    ProductFactory.create_batch(3, organization=organization)
    queryset = Product.objects.alive().filter(organization=organization, price_cents__gte=500).order_by("price_cents")
    assert "product_org_price_idx" in plan(queryset)
