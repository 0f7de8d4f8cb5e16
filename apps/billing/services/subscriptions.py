"""Subscriptions: Stripe's state mapped onto our organizations, plans and features.

Every path that learns a subscription's state (a webhook, the response to a
cancel or resume) goes through :func:`subscription_apply`, which is
idempotent and order-proof: it keeps, per Stripe subscription, the time the
stored state was true (``synced_at``) and ignores anything older, and a
canceled subscription never comes back to life. Webhook handlers read the
subscription from Stripe (:func:`subscription_refresh`) instead of trusting the
event's snapshot, so a late or repeated event converges on Stripe's current
state.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.services import UNSET, record_and_publish
from apps.billing import events
from apps.billing.errors import PaymentProviderUnavailable, UnprocessableStripeEvent
from apps.billing.models import TERMINAL_STATUSES, BillingInterval, Plan, Subscription
from apps.billing.services.plans import live_subscription, organization_plan, organization_plan_apply
from apps.billing.stripe_api import as_dict, stripe_client, stripe_errors
from apps.core.exceptions import Conflict
from apps.core.services import model_update
from apps.organizations.models import Organization

SUBSCRIPTION_FIELDS = (
    "plan",
    "interval",
    "status",
    "stripe_customer_id",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
)


def from_timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value not in (None, "") else None


def _first_item(data: dict[str, Any]) -> dict[str, Any]:
    items = (data.get("items") or {}).get("data") or []
    return items[0] if items else {}


def subscription_price(data: dict[str, Any]) -> tuple[str, str]:
    """The price id and interval of a subscription object (``price`` today, ``plan`` in older API versions)."""
    item = _first_item(data)
    price = item.get("price") or item.get("plan") or data.get("plan") or {}
    if isinstance(price, str):
        return price, ""
    interval = (price.get("recurring") or {}).get("interval") or price.get("interval") or ""
    return price.get("id", ""), interval


def subscription_period(data: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """Current period: on the subscription in older API versions, on its items since 2025."""
    item = _first_item(data)
    start = data.get("current_period_start") or item.get("current_period_start")
    end = data.get("current_period_end") or item.get("current_period_end")
    return from_timestamp(start), from_timestamp(end)


def _plan_for(data: dict[str, Any]) -> tuple[Plan, str]:
    price_id, interval = subscription_price(data)
    plan = Plan.objects.filter(Q(stripe_price_monthly=price_id) | Q(stripe_price_yearly=price_id)).first()
    if plan is None and price_id:
        raise UnprocessableStripeEvent(
            f"No plan has the Stripe price {price_id}; set it on a plan in the admin, then reprocess the event.",
            details={"price": price_id},
        )
    if plan is None:
        raise UnprocessableStripeEvent("The subscription has no price.", details={"subscription": data.get("id")})
    if interval not in BillingInterval.values:
        interval = BillingInterval.YEAR if price_id == plan.stripe_price_yearly else BillingInterval.MONTH
    return plan, interval


def organization_for_stripe(*, metadata: dict[str, Any] | None, customer_id: str | None) -> Organization | None:
    """Our organization for a Stripe object: its ``organization_id`` metadata, else its customer."""
    organization_id = (metadata or {}).get("organization_id")
    if organization_id:
        try:
            found = Organization.objects.filter(pk=uuid.UUID(str(organization_id))).first()
        except ValueError:
            found = None
        if found is not None:
            return found
    if customer_id:
        return Organization.objects.filter(stripe_customer_id=customer_id).order_by("created_at").first()
    return None


def _customer_id(data: dict[str, Any]) -> str:
    customer = data.get("customer") or ""
    return customer.get("id", "") if isinstance(customer, dict) else customer


def _event_payload(subscription: Subscription, *, previous_plan: str) -> dict[str, Any]:
    return {
        "subscription_id": str(subscription.pk),
        "stripe_subscription_id": subscription.stripe_subscription_id,
        "status": subscription.status,
        "plan": subscription.plan.code,
        "interval": subscription.interval,
        "organization_plan": organization_plan(organization=subscription.organization).code,
        "previous_organization_plan": previous_plan,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "current_period_end": subscription.current_period_end,
    }


def subscription_apply(
    *, data: dict[str, Any], as_of: datetime, actor: User | None | Any = UNSET
) -> Subscription | None:
    """Store one Stripe subscription object and put its organization on the plan it now gives.

    ``as_of`` is when ``data`` was true at Stripe. Older than what is stored →
    ignored; a canceled (or expired) subscription stays so. A change is
    audited and announced with the outbox event ``subscription.updated``;
    applying the same state twice changes nothing. Returns None when the
    subscription belongs to no organization of ours.
    """
    with transaction.atomic():
        organization = organization_for_stripe(metadata=data.get("metadata"), customer_id=_customer_id(data))
        if organization is None:
            return None
        organization = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        plan, interval = _plan_for(data)
        period_start, period_end = subscription_period(data)
        values = {
            "plan": plan,
            "interval": interval,
            "status": data["status"],
            "stripe_customer_id": _customer_id(data),
            "current_period_start": period_start,
            "current_period_end": period_end,
            "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
            "canceled_at": from_timestamp(data.get("canceled_at")),
            "ended_at": from_timestamp(data.get("ended_at")),
        }
        previous_plan = organization_plan(organization=organization).code
        subscription = Subscription.objects.select_for_update().filter(stripe_subscription_id=data["id"]).first()
        if subscription is None:
            subscription = Subscription(
                organization=organization, stripe_subscription_id=data["id"], synced_at=as_of, **values
            )
            subscription.full_clean(validate_constraints=False)
            subscription.save(force_insert=True)
            action, old_values, new_values = "subscription.created", None, values
        else:
            stale = subscription.synced_at > as_of
            revived = subscription.status in TERMINAL_STATUSES and values["status"] not in TERMINAL_STATUSES
            if stale or revived:
                return subscription
            changes = model_update(instance=subscription, fields=SUBSCRIPTION_FIELDS, data=values)
            Subscription.objects.filter(pk=subscription.pk).update(synced_at=as_of)
            subscription.synced_at = as_of
            action, old_values, new_values = "subscription.updated", changes.old, changes.new
            if not changes:
                organization_plan_apply(organization=organization, actor=actor)
                return subscription
        subscription.organization = organization
        organization_plan_apply(organization=organization, actor=actor)
        record_and_publish(
            action=action,
            resource_type="subscription",
            resource_id=subscription.pk,
            organization=organization,
            old_values=_plain(old_values),
            new_values=_plain(new_values),
            actor=actor,
            event_type=events.SUBSCRIPTION_UPDATED,
            payload=_event_payload(subscription, previous_plan=previous_plan),
        )
    return subscription


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: (value.code if isinstance(value, Plan) else value) for key, value in values.items()}


def subscription_refresh(*, stripe_subscription_id: str) -> Subscription | None:
    """Read a subscription from Stripe now and apply it (what every subscription webhook does)."""
    as_of = timezone.now()
    try:
        with stripe_errors("reading a subscription"):
            data = as_dict(stripe_client().v1.subscriptions.retrieve(stripe_subscription_id))
    except PaymentProviderUnavailable as exc:
        if getattr(exc.__cause__, "http_status", None) == 404:  # never heals by retrying
            raise UnprocessableStripeEvent(
                "Stripe does not know this subscription.", details={"subscription": stripe_subscription_id}
            ) from exc
        raise
    return subscription_apply(data=data, as_of=as_of)


def _set_cancel_at_period_end(*, actor: User, organization: Organization, cancel: bool) -> Subscription:
    subscription = live_subscription(organization=organization)
    if subscription is None:
        raise Conflict("The organization has no active subscription.", details={"reason": "no_subscription"})
    if subscription.cancel_at_period_end == cancel:
        return subscription  # already so: nothing to ask Stripe
    as_of = timezone.now()
    with stripe_errors("changing cancel_at_period_end"):
        data = as_dict(
            stripe_client().v1.subscriptions.update(
                subscription.stripe_subscription_id,
                params={"cancel_at_period_end": cancel},
                options={"idempotency_key": f"olympus-sub-{subscription.pk}-cancel-{int(cancel)}-{uuid.uuid4()}"},
            )
        )
    return subscription_apply(data=data, as_of=as_of, actor=actor) or subscription


def subscription_cancel(*, actor: User, organization: Organization) -> Subscription:
    """Cancel at the end of the current period (the plan stays until then). 409 without a subscription."""
    return _set_cancel_at_period_end(actor=actor, organization=organization, cancel=True)


def subscription_resume(*, actor: User, organization: Organization) -> Subscription:
    """Undo a cancellation that has not taken effect yet. 409 without a subscription."""
    return _set_cancel_at_period_end(actor=actor, organization=organization, cancel=False)
