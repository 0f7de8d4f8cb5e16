"""What the plan table sells is what every door enforces: ``analytics`` (Pro) and ``graphql`` (Enterprise).

A Free organization used to read its analytics (200) on REST and GraphQL, and its
members managed it over GraphQL (200).
"""

import pytest

from apps.catalog.tests.factories import ProductFactory
from apps.orders import services as order_services
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db

DAILY = "query($id: UUID!) { dailyMetrics(organizationId: $id) { day orderCount } }"
CONFIRM = "mutation($id: UUID!) { confirmOrder(id: $id) { status } }"
PUBLISH = "mutation($id: UUID!) { publishProduct(id: $id) { status } }"
PRODUCTS = "query { products(first: 10) { edges { node { name } } } }"
PLACE = """
mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }"""
GQL_ADDRESS = {"name": "Ada", "line1": "1 Road", "city": "London", "postalCode": "SW1", "country": "GB"}


def _on_plan(organization, **features):
    organization.features = {"webhooks": False, "analytics": False, "graphql": False, **features}
    organization.save(update_fields=["features", "updated_at"])


@pytest.mark.parametrize("path", ["summary", "daily"])
def test_rest_analytics_of_a_plan_without_analytics_is_402(api_client_for, organization, owner, path):
    _on_plan(organization)

    response = api_client_for(owner).get(f"/api/v1/organizations/{organization.pk}/analytics/{path}/")

    assert response.status_code == 402, response.content
    assert response.json()["error"]["code"] == "FEATURE_NOT_IN_PLAN"
    assert response.json()["error"]["details"]["feature"] == "analytics"


def test_rest_analytics_of_a_plan_with_analytics_is_200(api_client_for, organization, owner):
    _on_plan(organization, analytics=True)

    response = api_client_for(owner).get(f"/api/v1/organizations/{organization.pk}/analytics/summary/")

    assert response.status_code == 200


def test_graphql_analytics_of_a_plan_without_analytics_is_402(gql, organization, owner):
    _on_plan(organization, graphql=True)

    result = gql(DAILY, {"id": str(organization.pk)}, user=owner)

    assert result.codes == ["FEATURE_NOT_IN_PLAN"]
    assert result.error["extensions"]["details"]["feature"] == "analytics"


def test_members_of_a_plan_without_graphql_cannot_manage_it_over_graphql(gql, organization, owner, user):
    # given: a Free-like plan (analytics even), a product and an order
    _on_plan(organization, analytics=True)
    product = ProductFactory(organization=organization, status="draft")
    active = ProductFactory(organization=organization, status="active", inventory_quantity=5)
    order = order_services.order_place(
        user=user, organization=organization, items=[{"product": active.pk, "quantity": 1}], shipping_address=ADDRESS
    )

    # when / then: every member action answers 402 FEATURE_NOT_IN_PLAN
    for query, variables in [
        (CONFIRM, {"id": str(order.pk)}),
        (PUBLISH, {"id": str(product.pk)}),
        (DAILY, {"id": str(organization.pk)}),
    ]:
        result = gql(query, variables, user=owner)
        assert result.codes == ["FEATURE_NOT_IN_PLAN"], (query, result.errors)
        assert result.error["extensions"]["details"]["feature"] == "graphql"
    order.refresh_from_db()
    product.refresh_from_db()
    assert (order.status, product.status) == ("pending", "draft")


def test_customers_use_graphql_on_every_plan(gql, organization, user):
    # given: an organization without GraphQL in its plan
    _on_plan(organization)
    product = ProductFactory(organization=organization, status="active", inventory_quantity=5, name="Mug")

    # when: anyone reads its catalog, a customer orders and cancels their own order
    catalog = gql(PRODUCTS)
    placed = gql(
        PLACE,
        {
            "input": {
                "organizationId": str(organization.pk),
                "items": [{"productId": str(product.pk), "quantity": 1}],
                "shippingAddress": GQL_ADDRESS,
            }
        },
        user=user,
    )

    # then
    assert catalog.errors == []
    assert [edge["node"]["name"] for edge in catalog.data["products"]["edges"]] == ["Mug"]
    assert placed.errors == []
    assert placed.data["placeOrder"]["status"] == "PENDING"
