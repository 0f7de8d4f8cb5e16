"""A refund of an order paid through Stripe gives the money back through Stripe, whichever door asked.

(REST did; GraphQL's ``refundOrder`` and the admin's refund button used to run the
plain transition: the order turned refunded and restocked, and Stripe never heard of it.)
"""

import pytest
from django.urls import reverse

from apps.billing.models import Payment, Refund
from apps.billing.tests.helpers import deliver
from apps.billing.tests.stripe_server import confirm_payment
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.orders import services as order_services
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db

REFUND = """
mutation($id: UUID!, $amount: Int, $key: String) {
  refundOrder(id: $id, reason: "Damaged", amountCents: $amount, idempotencyKey: $key) { status paymentStatus }
}"""


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization, price_cents=1000, inventory_quantity=10)


@pytest.fixture
def order(organization, product, user):
    return order_services.order_place(
        user=user, organization=organization, items=[{"product": product.pk, "quantity": 2}], shipping_address=ADDRESS
    )


@pytest.fixture
def paid(stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, user):
    api_client_for(user).post(f"/api/v1/orders/{order.pk}/payment/")
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id)
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.succeeded")
    order.refresh_from_db()
    return intent


def test_graphql_refund_of_a_stripe_paid_order_goes_through_stripe(
    paid, stripe_api, gql, client, django_capture_on_commit_callbacks, order, product, owner
):
    # when
    result = gql(REFUND, {"id": str(order.pk)}, user=owner)

    # then: Stripe gave the money back; the order waits for Stripe's word, stock untouched
    assert not result.errors, result.errors
    assert result.data["refundOrder"] == {"status": "CONFIRMED", "paymentStatus": "CAPTURED"}
    charge = stripe_api.client().v1.charges.retrieve(paid.latest_charge.id)
    assert charge.refunded is True
    assert Refund.objects.get().reason == "Damaged"
    assert Product.objects.get(pk=product.pk).inventory_quantity == 8

    # when: Stripe reports it
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")

    # then
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("refunded", "refunded")
    assert Product.objects.get(pk=product.pk).inventory_quantity == 10


def test_graphql_partial_refund_with_a_key_refunds_once(paid, stripe_api, gql, order, owner):
    first = gql(REFUND, {"id": str(order.pk), "amount": 300, "key": "r-1"}, user=owner)
    second = gql(REFUND, {"id": str(order.pk), "amount": 300, "key": "r-1"}, user=owner)

    assert not first.errors
    assert not second.errors
    assert [r.amount_cents for r in Refund.objects.all()] == [300], first.body
    assert stripe_api.client().v1.charges.retrieve(paid.latest_charge.id).amount_refunded == 300


def test_graphql_refund_by_a_viewer_is_forbidden_and_stripe_untouched(paid, gql, order, viewer):
    result = gql(REFUND, {"id": str(order.pk)}, user=viewer)

    assert result.codes == ["FORBIDDEN"]
    assert not Refund.objects.exists()


def test_admin_refund_of_a_stripe_paid_order_goes_through_stripe(paid, stripe_api, client, order, staff_user):
    # given: a superuser in the admin
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    client.force_login(staff_user)

    # when
    url = reverse("admin:orders_order_transition", args=[order.pk, "refund"])
    response = client.post(url)

    # then
    assert response.status_code == 302
    assert stripe_api.client().v1.charges.retrieve(paid.latest_charge.id).refunded is True
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "captured")
