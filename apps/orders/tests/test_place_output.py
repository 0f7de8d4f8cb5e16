"""The placement response: shaped by hand (no serializer fields built), equal to the serializer, few queries."""

import pytest

from apps.accounts.tests.factories import UserFactory
from apps.catalog.tests.factories import ProductFactory, VariantFactory, vid
from apps.orders import services
from apps.orders.models import Order
from apps.orders.serializers import OrderOutputSerializer, order_output
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def _place(organization, user, **extra):
    products = [
        ProductFactory(organization=organization, inventory_quantity=5, attributes={"colour": "red", "size": 3}),
        ProductFactory(organization=organization, inventory_quantity=5),
    ]
    return services.order_place(
        user=user,
        organization=organization,
        items=[{"product": p.pk, "quantity": 2} for p in products],
        shipping_address=ADDRESS,
        **extra,
    )


@pytest.mark.parametrize("member", [True, False])
def test_the_hand_shaped_placement_response_equals_the_serializer(organization, member):
    # given: an order with optional address fields, notes and metadata, reread from the database
    user = UserFactory()
    billing = {**ADDRESS, "company": "Analytical Engines", "line2": "", "phone": "+44 20 7946 0000"}
    placed = _place(organization, user, billing_address=billing, customer_notes="Leave at the door", metadata={"k": 1})
    order = Order.objects.prefetch_related("items").get(pk=placed.pk)
    member_of = frozenset({organization.pk}) if member else frozenset()
    # when
    by_hand = order_output(order, member=member)
    # then: the same keys in the same order, the same values
    expected = OrderOutputSerializer(order, context={"member_of": member_of}).data
    assert list(by_hand) == list(expected)
    assert by_hand == expected
    assert by_hand["items"] == [dict(item) for item in expected["items"]]


def test_the_placed_order_knows_its_items_without_a_query(organization, django_assert_num_queries):
    order = _place(organization, UserFactory())

    with django_assert_num_queries(0):
        items = list(order.items.all())

    assert [item.position for item in items] == [0, 1]
    assert order_output(order, member=False) == order_output(
        Order.objects.prefetch_related("items").get(pk=order.pk), member=False
    )


@pytest.mark.parametrize(("lines", "as_member"), [(1, False), (3, False), (3, True)])
def test_placing_over_http_costs_a_fixed_number_of_queries_plus_one_per_line(
    api_client_for, organization, member, lines, as_member, django_assert_num_queries
):
    # given: a customer (or a member of the shop) buying some lines
    buyer = member if as_member else UserFactory()
    products = ProductFactory.create_batch(lines, organization=organization, inventory_quantity=5)
    payload = {
        "organization": str(organization.pk),
        "items": [{"product": str(p.pk), "quantity": 1} for p in products],
        "shipping_address": ADDRESS,
    }
    client = api_client_for(buyer)
    # when / then: session with user, organization with membership, savepoint, the lines' products,
    # the items, one stock update per line, counter, order, audit entry, outbox event, release (10 + lines)
    with django_assert_num_queries(10 + lines):
        response = client.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    assert ("internal_notes" in response.json()) is as_member


@pytest.mark.parametrize("lines", [1, 3])
def test_placing_variants_costs_the_same_queries_as_placing_products(
    api_client_for, organization, lines, django_assert_num_queries
):
    # given: the sizes of one product (several variants: the lines name them)
    product = ProductFactory(organization=organization, inventory_quantity=5)
    variants = [vid(product)] + [
        VariantFactory(product=product, option_values={"size": str(n)}, inventory_quantity=5).pk
        for n in range(lines - 1)
    ]
    payload = {
        "organization": str(organization.pk),
        "items": [{"variant": str(v), "quantity": 1} for v in variants],
        "shipping_address": ADDRESS,
    }
    client = api_client_for(UserFactory())
    # when / then: as above, the variants and their product read in one query (10 + lines)
    with django_assert_num_queries(10 + lines):
        response = client.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    assert [item["variant"] for item in response.json()["items"]] == [str(v) for v in variants]
