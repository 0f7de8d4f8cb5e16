"""The cost limit: the largest number of nodes an operation can return, refused before it runs."""

from __future__ import annotations

import pytest
from graphql import parse

from apps.graphql.cost import operation_cost
from apps.graphql.schema import schema

pytestmark = pytest.mark.django_db

NESTED = (
    "organizations { products(first: 100) { edges { node { id name "
    "organization { products(first: 100) { edges { node { id name } } } } } } } }"
)
# The outside review's query: 15 aliases of a nested 100 x 100 page, within the depth and alias limits.
REVIEW_QUERY = "{ " + " ".join(f"a{i}: {NESTED}" for i in range(15)) + " }"
# The README example, pages the tests use, and a members-only page nested in its organization (100 + 100 * 100).
DEMO_QUERIES = {
    "readme": (
        '{ organizations { slug role products(first: 5, search: "espresso") { totalCount edges { node { name '
        "priceCents inventoryQuantity } } } orders(first: 5) { edges { node { orderNumber status items { quantity "
        "product { name } } user { email } } } } } }"
    ),
    "catalog page": "{ products(first: 100) { totalCount edges { node { id name priceCents } } } }",
    "organizations with products": (
        "{ organizations { members { user { email } } products(first: 100) { edges { node { id organization { id } } "
        "} } } }"
    ),
    "orders with items": (
        "{ orders(first: 100) { edges { node { id items { product { name } } user { email } organization { id } } } } }"
    ),
    "default pages": "{ products { edges { node { id } } } orders { edges { node { id } } } }",
    "nested page": "{ " + NESTED + " }",
}


def cost_of(query: str, variables: dict | None = None) -> int:
    document = parse(query)
    operation = document.definitions[0]
    fragments = {d.name.value: d for d in document.definitions[1:]}
    return operation_cost(schema._schema, operation, fragments, variables)


def test_the_review_query_costs_151500():
    assert cost_of(REVIEW_QUERY) == 15 * (100 + 100 * 100)


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ("{ products(first: 10) { edges { node { id } } } }", None, 10),
        ("{ products { edges { node { id } } } }", None, 25),  # the default page
        ("{ a: products(first: 10) { totalCount } b: products(first: 7) { totalCount } }", None, 17),
        ("query($n: Int!) { products(first: $n) { totalCount } }", {"n": 40}, 40),
        ("query($n: Int = 30) { products(first: $n) { totalCount } }", {}, 30),
        (
            "{ organizations { products(first: 10) { edges { node { "
            "organization { orders(first: 3) { totalCount } } } } } } }",
            None,
            10 + 10 * 3,
        ),
        (
            "{ products(first: 4) { edges { node { ...F } } } } "
            "fragment F on ProductType { organization { products(first: 5) { totalCount } } }",
            None,
            4 + 4 * 5,
        ),
        ("{ me { id } organizations { slug } }", None, 0),
    ],
)
def test_cost_is_the_product_of_first_along_each_path_summed(query, variables, cost):
    assert cost_of(query, variables) == cost


@pytest.mark.parametrize("name", sorted(DEMO_QUERIES))
def test_demo_queries_are_within_the_limit(gql, member, name, settings):
    result = gql(DEMO_QUERIES[name], user=member)

    assert cost_of(DEMO_QUERIES[name]) <= settings.GRAPHQL_MAX_COST
    assert "QUERY_TOO_COSTLY" not in result.codes


def test_the_review_query_is_refused_before_running(gql, member):
    # when: refused at validation, so no resolver (and no product query) runs
    result = gql(REVIEW_QUERY, user=member)

    # then
    assert result.codes == ["QUERY_TOO_COSTLY"]
    assert result.error["extensions"]["details"] == {"cost": 151500, "maxCost": 25000}
    assert result.data is None


def test_the_limit_is_configurable(gql, member, settings):
    settings.GRAPHQL_MAX_COST = 50
    query = "query($n: Int!) { products(first: $n) { totalCount } }"

    assert gql(query, {"n": 50}, user=member).codes == []
    refused = gql(query, {"n": 51}, user=member)
    assert refused.codes == ["QUERY_TOO_COSTLY"]
    assert refused.error["extensions"]["details"] == {"cost": 51, "maxCost": 50}
