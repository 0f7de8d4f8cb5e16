"""The catalog bench's floor (a bare ``values()`` view) answers the same page the API lists (not a benchmark)."""

import json

import pytest
from django.test import RequestFactory

from apps.catalog.tests.factories import ProductFactory
from tools.bench.catalog import bare_product_list

pytestmark = pytest.mark.django_db


def test_the_bare_view_lists_the_organizations_public_products_with_their_variants(organization):
    products = [ProductFactory(organization=organization, status="active") for _ in range(3)]
    ProductFactory(organization=organization, status="draft")

    response = bare_product_list(RequestFactory().get("/", {"organization": organization.slug}))

    assert response.status_code == 200
    rows = json.loads(response.content)["results"]
    assert sorted(row["id"] for row in rows) == sorted(str(p.id) for p in products)
    assert all(len(json.loads(row["variants_json"])) == 1 for row in rows)
