"""Orders over GraphQL: visibility, placement (stock, idempotency key), transitions, REST's codes."""

from __future__ import annotations

import pytest

from apps.catalog.models import Product, ProductVariant
from apps.catalog.tests.factories import ProductFactory, vid
from apps.core.models import IdempotencyKey
from apps.orders.models import Order
from apps.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

ORDERS = """
query($organization: UUID, $status: OrderStatus, $search: String, $ordering: OrderOrdering) {
  orders(first: 50, organization: $organization, status: $status, search: $search, ordering: $ordering) {
    totalCount
    edges { node { id orderNumber status internalNotes metadata allowedTransitions user { email } } }
  }
}"""
ORDER = """
query($id: UUID!) {
  order(id: $id) {
    id orderNumber status totalCents internalNotes organization { slug }
    items { quantity unitPriceCents productSnapshot product { name } }
  }
}"""
PLACE = """
mutation($input: PlaceOrderInput!, $key: String) {
  placeOrder(input: $input, idempotencyKey: $key) {
    id orderNumber status subtotalCents taxCents shippingCents totalCents currency
    items { productId quantity unitPriceCents totalCents }
  }
}"""
CONFIRM = "mutation($id: UUID!) { confirmOrder(id: $id) { status confirmedAt allowedTransitions } }"
CANCEL = "mutation($id: UUID!, $reason: String!) { cancelOrder(id: $id, reason: $reason) { status cancelReason } }"
SHIP = """
mutation($id: UUID!, $carrier: String!, $tracking: String!) {
  shipOrder(id: $id, carrier: $carrier, trackingNumber: $tracking) { status carrier trackingNumber }
}"""
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postalCode": "SW1Y 4JH",
    "country": "GB",
}


@pytest.fixture
def kettle(organization):
    return ProductFactory(organization=organization, name="Kettle", price_cents=2500, inventory_quantity=5)


def _place_input(organization, product, quantity=2, **extra):
    return {
        "organizationId": str(organization.pk),
        "items": [{"productId": str(product.pk), "quantity": quantity}],
        "shippingAddress": ADDRESS,
        **extra,
    }


def _nodes(result):
    assert result.errors == [], result.errors
    return [edge["node"] for edge in result.data["orders"]["edges"]]


# --- reads -----------------------------------------------------------------------------------------------


def test_customers_see_their_own_orders_without_member_fields(gql, organization, user, kettle):
    mine = OrderFactory(organization=organization, user=user, internal_notes="fraud?", lines=[(kettle, 1)])
    OrderFactory(organization=organization)  # someone else's

    [node] = _nodes(gql(ORDERS, user=user))

    assert node["id"] == str(mine.pk)
    assert node["internalNotes"] is None
    assert node["metadata"] is None
    assert node["allowedTransitions"] == ["cancel"]
    assert node["user"] == {"email": user.email}


def test_members_see_their_organizations_orders_with_member_fields(gql, organization, viewer, other_organization):
    OrderFactory.create_batch(2, organization=organization, internal_notes="gift wrap")
    OrderFactory(organization=other_organization)

    nodes = _nodes(gql(ORDERS, user=viewer))

    assert len(nodes) == 2
    assert {node["internalNotes"] for node in nodes} == {"gift wrap"}
    assert {tuple(node["allowedTransitions"]) for node in nodes} == {()}  # viewers may not change orders


def test_orders_needs_a_signed_in_user(gql):
    assert gql(ORDERS).codes == ["UNAUTHORIZED"]


def test_order_filters_and_ordering(gql, organization, member):
    first = OrderFactory(organization=organization, order_number=1001)
    second = OrderFactory(organization=organization, order_number=1002)
    Order.objects.filter(pk=second.pk).update(status=Order.Status.CANCELLED)

    assert [n["id"] for n in _nodes(gql(ORDERS, {"status": "CANCELLED"}, user=member))] == [str(second.pk)]
    assert [n["id"] for n in _nodes(gql(ORDERS, {"search": "#1001"}, user=member))] == [str(first.pk)]
    ordered = _nodes(gql(ORDERS, {"ordering": "NUMBER"}, user=member))
    assert [n["orderNumber"] for n in ordered] == [1001, 1002]


def test_order_with_items(gql, organization, member, kettle):
    order = OrderFactory(organization=organization, lines=[(kettle, 3)])

    result = gql(ORDER, {"id": str(order.pk)}, user=member)

    assert result.errors == []
    [item] = result.data["order"]["items"]
    assert item["quantity"] == 3
    assert item["product"] == {"name": "Kettle"}
    assert item["productSnapshot"]["name"] == "Kettle"
    assert result.data["order"]["organization"] == {"slug": "acme"}


def test_customer_sees_no_hidden_product_and_no_organization_through_their_order(gql, organization, user, kettle):
    order = OrderFactory(organization=organization, user=user, lines=[(kettle, 1)])
    Product.objects.filter(pk=kettle.pk).update(status=Product.Status.DRAFT)

    result = gql(ORDER, {"id": str(order.pk)}, user=user)

    assert result.errors == []
    assert result.data["order"]["items"][0]["product"] is None
    assert result.data["order"]["items"][0]["productSnapshot"]["name"] == "Kettle"
    assert result.data["order"]["organization"] is None


def test_another_tenants_order_is_not_found(gql, organization, outsider):
    order = OrderFactory(organization=organization)

    result = gql(ORDER, {"id": str(order.pk)}, user=outsider)

    assert result.codes == ["NOT_FOUND"]
    assert result.error["message"] == "Order not found."


# --- placement -------------------------------------------------------------------------------------------


def test_place_order_reserves_stock_and_totals(gql, organization, outsider, kettle):
    result = gql(PLACE, {"input": _place_input(organization, kettle, 2)}, user=outsider)

    assert result.errors == []
    placed = result.data["placeOrder"]
    assert placed["status"] == "PENDING"
    assert placed["subtotalCents"] == 5000
    assert placed["totalCents"] == placed["subtotalCents"] + placed["taxCents"] + placed["shippingCents"]
    assert placed["items"] == [{"productId": str(kettle.pk), "quantity": 2, "unitPriceCents": 2500, "totalCents": 5000}]
    kettle.refresh_from_db()
    assert kettle.inventory_quantity == 3


def test_place_order_beyond_stock_is_insufficient_stock_and_takes_nothing(gql, organization, user, kettle):
    result = gql(PLACE, {"input": _place_input(organization, kettle, 6)}, user=user)

    assert result.codes == ["INSUFFICIENT_STOCK"]
    assert result.error["extensions"]["details"] == {"available": {str(vid(kettle)): 5}}
    kettle.refresh_from_db()
    assert kettle.inventory_quantity == 5
    assert not Order.objects.exists()


def test_place_order_validates_like_rest(gql, organization, user, kettle):
    bad = _place_input(organization, kettle, 0, shippingAddress={**ADDRESS, "country": "Britain"})

    result = gql(PLACE, {"input": bad}, user=user)

    assert result.codes == ["VALIDATION_ERROR"]
    assert set(result.error["extensions"]["details"]) == {"items", "shippingAddress"}


def test_a_draft_product_cannot_be_ordered(gql, organization, user):
    draft = ProductFactory(organization=organization, status=Product.Status.DRAFT)

    result = gql(PLACE, {"input": _place_input(organization, draft)}, user=user)

    assert result.codes == ["VALIDATION_ERROR"]


def test_place_order_needs_a_signed_in_user(gql, organization, kettle):
    assert gql(PLACE, {"input": _place_input(organization, kettle)}).codes == ["UNAUTHORIZED"]


def test_the_same_idempotency_key_and_input_replay_the_first_order(gql, organization, user, kettle):
    variables = {"input": _place_input(organization, kettle, 2), "key": "order-42"}

    first = gql(PLACE, variables, user=user)
    again = gql(PLACE, variables, user=user)

    assert first.errors == again.errors == []
    assert again.data["placeOrder"]["id"] == first.data["placeOrder"]["id"]
    assert first.response["Idempotent-Replayed"] == "false"
    assert again.response["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    kettle.refresh_from_db()
    assert kettle.inventory_quantity == 3


def test_the_same_idempotency_key_with_another_input_is_refused(gql, organization, user, kettle):
    gql(PLACE, {"input": _place_input(organization, kettle, 1), "key": "order-43"}, user=user)

    result = gql(PLACE, {"input": _place_input(organization, kettle, 2), "key": "order-43"}, user=user)

    assert result.codes == ["IDEMPOTENCY_KEY_REUSED"]
    assert Order.objects.count() == 1


def test_a_refused_placement_is_replayed_too(gql, organization, user, kettle):
    variables = {"input": _place_input(organization, kettle, 6), "key": "order-44"}
    assert gql(PLACE, variables, user=user).codes == ["INSUFFICIENT_STOCK"]
    ProductVariant.objects.filter(product=kettle).update(inventory_quantity=100)

    replay = gql(PLACE, variables, user=user)

    assert replay.codes == ["INSUFFICIENT_STOCK"]
    assert replay.response["Idempotent-Replayed"] == "true"
    assert not Order.objects.exists()


def test_idempotency_keys_are_per_user(gql, organization, user, outsider, kettle):
    variables = {"input": _place_input(organization, kettle, 1), "key": "shared-key"}

    a = gql(PLACE, variables, user=user)
    b = gql(PLACE, variables, user=outsider)

    assert a.data["placeOrder"]["id"] != b.data["placeOrder"]["id"]
    assert IdempotencyKey.objects.count() == 2


def test_an_overlong_idempotency_key_is_a_validation_error(gql, organization, user, kettle):
    result = gql(PLACE, {"input": _place_input(organization, kettle), "key": "k" * 256}, user=user)

    assert result.codes == ["VALIDATION_ERROR"]
    assert "idempotencyKey" in result.error["extensions"]["details"]


# --- transitions -----------------------------------------------------------------------------------------


def test_member_confirms_and_ships(gql, organization, member):
    order = OrderFactory(organization=organization)

    confirmed = gql(CONFIRM, {"id": str(order.pk)}, user=member)

    assert confirmed.data["confirmOrder"]["status"] == "CONFIRMED"
    assert confirmed.data["confirmOrder"]["allowedTransitions"] == ["cancel", "process", "refund"]
    result = gql(SHIP, {"id": str(order.pk), "carrier": "DHL", "tracking": "1Z"}, user=member)
    assert result.codes == ["INVALID_TRANSITION"]
    assert result.error["extensions"]["details"]["allowed"] == ["cancel", "process", "refund"]


def test_viewer_may_not_confirm(gql, organization, viewer):
    order = OrderFactory(organization=organization)

    assert gql(CONFIRM, {"id": str(order.pk)}, user=viewer).codes == ["FORBIDDEN"]


def test_customer_cancels_their_own_pending_order_and_stock_returns(gql, organization, user, kettle):
    placed = gql(PLACE, {"input": _place_input(organization, kettle, 2)}, user=user).data["placeOrder"]

    result = gql(CANCEL, {"id": placed["id"], "reason": "changed my mind"}, user=user)

    assert result.data["cancelOrder"] == {"status": "CANCELLED", "cancelReason": "changed my mind"}
    kettle.refresh_from_db()
    assert kettle.inventory_quantity == 5


def test_customer_may_not_confirm_their_own_order(gql, organization, user):
    order = OrderFactory(organization=organization, user=user)

    assert gql(CONFIRM, {"id": str(order.pk)}, user=user).codes == ["FORBIDDEN"]


def test_customer_cannot_cancel_a_confirmed_order(gql, organization, user):
    order = OrderFactory(organization=organization, user=user)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CONFIRMED)

    assert gql(CANCEL, {"id": str(order.pk), "reason": ""}, user=user).codes == ["INVALID_TRANSITION"]


def test_outsider_cannot_touch_another_tenants_order(gql, organization, outsider):
    order = OrderFactory(organization=organization)

    assert gql(CANCEL, {"id": str(order.pk), "reason": ""}, user=outsider).codes == ["NOT_FOUND"]


def test_the_whole_lifecycle_through_graphql(gql, organization, member, user, kettle):
    # given: an order placed by a customer (2 of 5 kettles reserved)
    order_id = gql(PLACE, {"input": _place_input(organization, kettle, 2)}, user=user).data["placeOrder"]["id"]
    steps = [
        ("confirmOrder", "", "CONFIRMED"),
        ("processOrder", "", "PROCESSING"),
        ("shipOrder", ', carrier: "DHL", trackingNumber: "JD0001"', "SHIPPED"),
        ("deliverOrder", "", "DELIVERED"),
        ("refundOrder", ', reason: "broken"', "REFUNDED"),
    ]
    # when: a member walks it through every transition
    for mutation, arguments, status in steps:
        result = gql(f'mutation {{ {mutation}(id: "{order_id}"{arguments}) {{ status }} }}', user=member)
        # then: each answers the new status
        assert result.errors == [], result.errors
        assert result.data[mutation]["status"] == status
    # and the refund gave the stock back, once
    kettle.refresh_from_db()
    assert kettle.inventory_quantity == 5
    again = gql(f'mutation {{ refundOrder(id: "{order_id}") {{ status }} }}', user=member)
    assert again.codes == ["INVALID_TRANSITION"]


def test_place_order_by_variant_and_a_product_with_several_variants_needs_one(gql, organization, user, kettle):
    from apps.catalog.tests.factories import VariantFactory

    large = VariantFactory(product=kettle, option_values={"size": "L"}, price_cents=3000, inventory_quantity=2)
    query = PLACE.replace("items { productId", "items { variantId productId")
    document = {
        "input": {**_place_input(organization, kettle, 1), "items": [{"variantId": str(large.pk), "quantity": 2}]}
    }
    result = gql(query, document, user=user)
    assert result.errors == [], result.errors
    (item,) = result.data["placeOrder"]["items"]
    assert (item["variantId"], item["productId"], item["unitPriceCents"]) == (str(large.pk), str(kettle.pk), 3000)
    assert ProductVariant.objects.get(pk=large.pk).inventory_quantity == 0

    by_product = gql(PLACE, {"input": _place_input(organization, kettle, 1)}, user=user)
    assert by_product.codes == ["VARIANT_REQUIRED"]
