"""GraphQL answers the REST door's input limits with VALIDATION_ERROR, never INTERNAL_ERROR."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_graphql_deep_variables_are_a_validation_error(api_client):
    body = '{"query": "query($x: JSON) { __typename }", "variables": {"x": ' + _nested(5000) + "}}"
    response = api_client.post("/graphql", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


def test_graphql_nul_in_variables_is_a_validation_error(gql, owner, organization):
    query = "mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }"
    variables = {
        "input": {"organizationId": str(organization.pk), "name": "P", "priceCents": 1, "attributes": {"k": "\u0000"}}
    }
    result = gql(query, variables, user=owner)
    assert result.codes == ["VALIDATION_ERROR"], result
    assert "variables.input.attributes.k" in result.error["extensions"]["details"]


def test_graphql_nul_in_a_literal_is_a_validation_error(gql, owner, organization):
    literal = '{organizationId: "ORG", name: "P", priceCents: 1, attributes: {k: "a\\u0000"}}'
    query = "mutation { createProduct(input: %s) { id } }".replace("%s", literal.replace("ORG", str(organization.pk)))
    result = gql(query, user=owner)
    assert result.codes == ["VALIDATION_ERROR"], result


def test_graphql_search_with_nul_is_a_validation_error(gql):
    result = gql('{ products(search: "a\\u0000") { edges { node { id } } } }')
    assert result.codes == ["VALIDATION_ERROR"], result


@pytest.mark.parametrize("value", ["2020-01-01T00:00:00+19:27", "0001-01-01T00:00:00+01:00"])
def test_graphql_unrepresentable_datetime_is_a_validation_error(gql, owner, value):
    result = gql(
        "query($after: DateTime) { orders(createdAfter: $after) { edges { node { id } } } }",
        {"after": value},
        user=owner,
    )
    assert result.codes == ["VALIDATION_ERROR"], result


@pytest.mark.parametrize(
    "document",
    [
        "{ " + "products { edges { node { " * 2000 + "id" + " } } }" * 2000 + " }",
        "{ products(search: " + "[" * 5000 + '"a"' + "]" * 5000 + ") { edges { node { id } } } }",
    ],
    ids=["deep-selection", "deep-literal"],
)
def test_graphql_deep_documents_are_validation_errors(api_client, document):
    response = api_client.post("/graphql", {"query": document}, format="json")
    body = response.json()
    assert body["errors"], body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"VALIDATION_ERROR"}, body
