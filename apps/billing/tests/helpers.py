"""Acting as Stripe's other side in tests: subscriptions made at the local Stripe, events posted to us."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.billing.models import Plan
from apps.billing.tests.stripe_server import LocalStripe, event_for, signed

WEBHOOK = "/webhooks/stripe"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, then every charge is declined


def stripe_customer(stripe: LocalStripe, organization: Any, *, card: str = GOOD_CARD) -> str:
    """A customer at the local Stripe with a default card, stored on the organization (as checkout does)."""
    client = stripe.client()
    customer = client.v1.customers.create(
        params={"email": "billing@example.com", "metadata": {"organization_id": str(organization.pk)}}
    )
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
    organization.stripe_customer_id = customer.id
    organization.save(update_fields=["stripe_customer_id", "updated_at"])
    return customer.id


def stripe_subscribe(
    stripe: LocalStripe, organization: Any, plan_code: str, *, interval: str = "month", card: str = GOOD_CARD
) -> Any:
    """A subscription created at the local Stripe (what a completed checkout leaves behind)."""
    customer = organization.stripe_customer_id or stripe_customer(stripe, organization, card=card)
    price = Plan.objects.get(code=plan_code).stripe_price(interval)
    return stripe.client().v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"plan": price}],  # localstripe's spelling of items[].price
            "metadata": {"organization_id": str(organization.pk), "plan": plan_code},
        }
    )


def post_event(client: Any, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None) -> Any:
    """POST an event to our endpoint signed as Stripe signs it."""
    body, header = signed(event, secret or settings.STRIPE_WEBHOOK_SECRETS[0], timestamp=timestamp)
    return client.post(WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def deliver(client: Any, capture: Any, obj: Any, event_type: str, **kwargs: Any) -> Any:
    """Post one event about ``obj`` and run what its commit triggers (the webhooks-queue task, eagerly)."""
    with capture(execute=True):
        response = post_event(client, event_for(obj, event_type, **kwargs))
    assert response.status_code == 200, response.content
    return response
