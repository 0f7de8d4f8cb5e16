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
