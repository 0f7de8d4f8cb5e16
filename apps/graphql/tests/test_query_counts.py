"""Nested selections cost a constant number of SQL queries, whatever the number of rows (1, 10, 100).

The strawberry-django optimizer turns each nested list or connection into one
prefetch (connections under a list of parents: one windowed query for every
parent's page; under a single parent, ``organization(id:)``, the page's own
``LIMIT`` query, apps/graphql/common.py ``PageField``) and each object into a
join or a prefetch. Per request there is a fixed overhead:
the session behind the access token (1), the caller's organizations (1) and,
when a permission is asked, the caller's guardian grants (2).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.tests.factories import ProductFactory, VariantFactory
from apps.orders.tests.factories import OrderFactory
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

ROWS = [1, 10, 100]

ORGANIZATIONS_PRODUCTS = """{
  organizations {
    id name role permissions billingEmail
    members { email role }
    products(first: 100) {
      totalCount
      edges { cursor node { id name priceCents inStock inventoryQuantity organization { slug } } }
    }
  }
}"""

ORDERS_ITEMS_PRODUCT_USER = """{
  orders(first: 100) {
    edges {
      node {
        id orderNumber totalCents internalNotes allowedTransitions
        items { quantity productSnapshot product { id name inventoryQuantity } }
        user { id email fullName }
        organization { slug }
      }
    }
  }
}"""


def _run(gql, user, query, django_assert_num_queries, expected):
    gql("{ me { id } }", user=user)  # the client's session is already open and touched
    with django_assert_num_queries(expected):
        result = gql(query, user=user)
    assert result.errors == [], result.errors
    return result.data


@pytest.mark.parametrize("rows", ROWS)
def test_organizations_with_their_products_in_constant_queries(gql, user, rows, django_assert_num_queries):
    # given: `rows` organizations of the member, each with one product, and `rows` products in the last one
    for _ in range(rows):
        organization = OrganizationFactory()
        MembershipFactory(organization=organization, user=user)
        ProductFactory(organization=organization)
    ProductFactory.create_batch(rows - 1, organization=organization)

    # session, my organizations, guardian grants (2), organizations, members, products page, product organizations
    data = _run(gql, user, ORGANIZATIONS_PRODUCTS, django_assert_num_queries, 8)

    assert len(data["organizations"]) == rows
    assert max(org["products"]["totalCount"] for org in data["organizations"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_products_list_in_constant_queries(gql, organization, member, rows, django_assert_num_queries):
    ProductFactory.create_batch(rows, organization=organization)
    query = "{ products(first: 100) { totalCount edges { node { name inventoryQuantity organization { slug } } } } }"

    # session, my organizations, products page, their organizations, total count
    data = _run(gql, member, query, django_assert_num_queries, 5)

    assert len(data["products"]["edges"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_products_with_their_variants_in_constant_queries(gql, organization, member, rows, django_assert_num_queries):
    for product in ProductFactory.create_batch(rows, organization=organization):
        VariantFactory(product=product, option_values={"size": "L"}, price_cents=1500)
    query = (
        "{ products(first: 100) { edges { node { name sku inStock inventoryQuantity trackInventory allowBackorder "
        "variants { id sku optionValues priceCents effectivePriceCents inStock inventoryQuantity isDefault } } } } }"
    )

    # session, my organizations, products page (the variants' figures annotated), their variants
    data = _run(gql, member, query, django_assert_num_queries, 4)

    assert len(data["products"]["edges"]) == rows
    assert all(len(edge["node"]["variants"]) == 2 for edge in data["products"]["edges"])
    node = data["products"]["edges"][0]["node"]
    assert node["inventoryQuantity"] == 20
    assert sorted(v["effectivePriceCents"] for v in node["variants"]) == [1000, 1500]


@pytest.mark.parametrize("rows", ROWS)
def test_orders_with_items_products_and_customers_in_constant_queries(
    gql, organization, member, rows, django_assert_num_queries
):
    products = ProductFactory.create_batch(2, organization=organization)
    for _ in range(rows):
        OrderFactory(organization=organization, lines=[(products[0], 1), (products[1], 2)])

    # session, my organizations, orders (+ customers joined), items, products, organizations, guardian grants (2)
    data = _run(gql, member, ORDERS_ITEMS_PRODUCT_USER, django_assert_num_queries, 8)

    assert len(data["orders"]["edges"]) == rows
    assert all(len(edge["node"]["items"]) == 2 for edge in data["orders"]["edges"])


@pytest.mark.parametrize("rows", [1, 100])
def test_an_organizations_orders_in_constant_queries(gql, organization, member, rows, django_assert_num_queries):
    for _ in range(rows):
        OrderFactory(organization=organization, lines=[(ProductFactory(organization=organization), 1)])
    query = '{ organization(slug: "acme") { orders(first: 100) { edges { node { items { product { name } } user { email } } } } } }'  # noqa: E501

    # session, my organizations, organization, its orders page (+ customers), items, products
    data = _run(gql, member, query, django_assert_num_queries, 6)

    assert len(data["organization"]["orders"]["edges"]) == rows


@pytest.mark.parametrize("rows", [1, 10])
def test_bulk_update_products_returns_them_in_constant_queries(
    gql, organization, member, rows, django_assert_num_queries
):
    ids = [str(p.pk) for p in ProductFactory.create_batch(rows, organization=organization, price_cents=100)]
    query = (
        "mutation($ids: [UUID!]!) { bulkUpdateProducts(ids: $ids, changes: {allowBackorder: true}) "
        "{ id allowBackorder organization { slug } } }"
    )
    gql("{ me { id } }", user=member)

    # Fixed (11): session, my organizations, the products' organizations, guardian grants (2), the savepoint
    # pair, the locked products, their locked variants, the rows read back and their organizations: reading
    # back is one query per relation whatever the number. The service's writes are per variant (19 each:
    # the update, its audit entry and event, the product's unchanged check), as on REST's bulk-update.
    with django_assert_num_queries(11 + 19 * rows):
        result = gql(query, {"ids": ids}, user=member)

    assert result.errors == [], result.errors
    assert len(result.data["bulkUpdateProducts"]) == rows


def test_one_organizations_pages_are_read_with_a_limit_not_a_window(gql, organization, member):
    # given: more orders and products than a page
    products = ProductFactory.create_batch(4, organization=organization)
    for _ in range(4):
        OrderFactory(organization=organization, lines=[(products[0], 1)])
    query = (
        '{ organization(slug: "acme") { products(first: 2) { edges { node { id } } } '
        "orders(first: 2) { edges { node { id items { quantity } } } } } }"
    )
    gql("{ me { id } }", user=member)

    # when
    with CaptureQueriesContext(connection) as queries:
        result = gql(query, user=member)

    # then: each page is its own LIMIT 3 query (first + 1), not a window numbering every row of the tenant
    assert result.errors == [], result.errors
    assert len(result.data["organization"]["orders"]["edges"]) == 2
    pages = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "catalog_product"' in q["sql"] or 'FROM "orders_order"' in q["sql"]
    ]
    assert len(pages) == 2, pages
    assert all("LIMIT 3" in sql and " OVER (" not in sql for sql in pages), pages
