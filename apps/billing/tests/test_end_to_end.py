"""The checkout path end to end: our API → the local Stripe's hosted page → its own signed webhooks → our plan."""

import json

import pytest

from apps.billing.models import StripeEvent, Subscription
from apps.billing.tests.factories import on_default_plan
from apps.billing.tests.helpers import WEBHOOK
from apps.billing.tests.stripe_server import WebhookReceiver
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(stripe_api, settings):
    """localstripe delivers its events here, signed with our current endpoint secret."""
    receiver = WebhookReceiver().start()
    stripe_api.register_webhook("pytest", receiver.url, settings.STRIPE_WEBHOOK_SECRETS[0])
    yield receiver
    receiver.stop()


def test_checkout_paid_on_the_hosted_page_moves_the_organization_to_pro(
    receiver, stripe_api, stripe_prices, api_client_for, client, organization, owner, django_capture_on_commit_callbacks
):
    # given: the owner starts a checkout through our API
    on_default_plan(organization)
    started = api_client_for(owner).post(
        "/api/v1/billing/checkout",
        {
            "organization": str(organization.pk),
            "plan": "pro",
            "interval": "month",
            "success_url": "https://app.example.com/billing/done",
            "cancel_url": "https://app.example.com/billing",
        },
        HTTP_IDEMPOTENCY_KEY="e2e-1",
    )
    session_id = started.json()["session_id"]

    # when: the customer pays on the (local) Stripe page, and Stripe's signed deliveries reach our endpoint
    paid = stripe_api.pay_checkout(started.json()["checkout_url"])
    assert (paid.status_code, paid.headers["Location"]) == (303, "https://app.example.com/billing/done")
    completed = receiver.wait_for(
        lambda event: event["type"] == "checkout.session.completed" and event["data"]["object"]["id"] == session_id
    )
    assert completed, "localstripe did not deliver checkout.session.completed"
    subscription_id = json.loads(completed[0]["body"])["data"]["object"]["subscription"]
    related = receiver.wait_for(
        lambda event: (
            event["type"] == "customer.subscription.created" and event["data"]["object"]["id"] == subscription_id
        )
    )
    for delivery in [*related, *completed]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                WEBHOOK, delivery["body"], content_type="application/json", HTTP_STRIPE_SIGNATURE=delivery["signature"]
            )
        assert response.status_code == 200, response.content

    # then
    organization.refresh_from_db()
    assert organization.limits == stripe_prices["pro"].limits
    assert organization.features["webhooks"] is True
    assert Subscription.objects.get(organization=organization).status == "active"
    assert organization.checkout_sessions.get().status == "complete"
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert OutboxEvent.objects.filter(event_type="subscription.updated", organization_id=organization.pk).count() == 1


def test_an_order_paid_and_refunded_with_stripes_own_deliveries(
    receiver, stripe_api, api_client_for, client, organization, owner, user, django_capture_on_commit_callbacks
):
    # given: a customer's pending order
    from apps.billing.tests.stripe_server import confirm_payment
    from apps.catalog.tests.factories import ProductFactory
    from apps.orders import services as order_services
    from apps.orders.tests.factories import ADDRESS

    product = ProductFactory(organization=organization, price_cents=1500, inventory_quantity=5)
    order = order_services.order_place(
        user=user, organization=organization, items=[{"product": product.pk, "quantity": 1}], shipping_address=ADDRESS
    )

    def relay(event_type, object_id):
        deliveries = receiver.wait_for(
            lambda event: event["type"] == event_type and event["data"]["object"]["id"] == object_id
        )
        assert deliveries, f"localstripe did not deliver {event_type}"
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                WEBHOOK,
                deliveries[0]["body"],
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=deliveries[0]["signature"],
            )
        assert response.status_code == 200, response.content

    # when: the customer pays (our API, then Stripe.js at the local Stripe) and Stripe tells us
    intent_id = api_client_for(user).post(f"/api/v1/orders/{order.pk}/payment/").json()["payment_intent"]
    intent = confirm_payment(stripe_api, intent_id)
    relay("payment_intent.succeeded", intent_id)

    # then
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "captured")

    # when: the owner refunds and Stripe reports it
    assert api_client_for(owner).post(f"/api/v1/orders/{order.pk}/refund/", {}).status_code == 202
    relay("charge.refunded", intent.latest_charge.id)

    # then
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("refunded", "refunded")
    product.refresh_from_db()
    assert product.inventory_quantity == 5
