"""Stripe customer, Checkout Sessions and the billing portal for an organization."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.services import record, record_and_publish
from apps.billing import events as billing_events
from apps.billing.models import BillingInterval, CheckoutSession, Plan
from apps.billing.services.plans import live_subscription
from apps.billing.stripe_api import stripe_client, stripe_errors
from apps.core.exceptions import Conflict, IdempotencyKeyReused, ValidationError
from apps.core.redirects import host_allowed, redirect_host
from apps.core.services import model_update
from apps.organizations.models import Organization
from apps.organizations.policies import permission_require


def redirect_url_allowed(url: str) -> bool:
    """http(s) URLs on a host of ``BILLING_REDIRECT_HOSTS`` (a leading dot admits subdomains), read as a
    browser reads them (``apps.core.redirects``: no backslashes, userinfo or control characters)."""
    host = redirect_host(url)
    return host is not None and host_allowed(host, settings.BILLING_REDIRECT_HOSTS)


def _check_redirects(**urls: str) -> None:
    errors = {
        name: ["This URL's host is not allowed for billing redirects."]
        for name, url in urls.items()
        if not redirect_url_allowed(url)
    }
    if errors:
        raise ValidationError(details=errors)


def stripe_customer_ensure(*, actor: User | None, organization: Organization) -> str:
    """The organization's Stripe customer id, created at Stripe (once) and stored on first use.

    Runs inside the caller's transaction with ``organization`` locked. Stripe's
    idempotency key is per organization, so a retry after a rollback gets the
    same customer back instead of a duplicate.
    """
    if organization.stripe_customer_id:
        return organization.stripe_customer_id
    email = organization.billing_email or getattr(actor, "email", "") or None
    with stripe_errors("creating a customer"):
        customer = stripe_client().v1.customers.create(
            params={
                "name": organization.name,
                **({"email": email} if email else {}),
                "metadata": {"organization_id": str(organization.pk)},
            },
            options={"idempotency_key": f"olympus-customer-{organization.pk}"},
        )
    changes = model_update(
        instance=organization, fields=["stripe_customer_id"], data={"stripe_customer_id": customer.id}
    )
    record(
        action="organization.billing_customer_created",
        resource_type="organization",
        resource_id=organization.pk,
        organization=organization,
        old_values=changes.old,
        new_values=changes.new,
        **({"actor": actor} if actor is not None else {}),
    )
    return organization.stripe_customer_id


def _fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def checkout_session_create(
    *,
    actor: User,
    organization: Organization,
    plan_code: str,
    interval: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str = "",
    permissions: frozenset[str] | None = None,
) -> tuple[CheckoutSession, bool]:
    """Open a Stripe Checkout Session (subscription mode) for the organization's Stripe customer.

    Returns ``(session, created)``. With an ``Idempotency-Key`` the same key and
    body give back the same session (``created`` False); the same key with
    another body is refused (422). Stripe gets an idempotency key too, so a
    retry after a failure here never opens a second session. Redirect URLs must
    be on ``BILLING_REDIRECT_HOSTS``; an organization with a live subscription
    changes plan in the billing portal instead (409). Needs ``change_billing`` (owners).
    """
    permission_require(user=actor, organization=organization, perm="change_billing", permissions=permissions)
    _check_redirects(success_url=success_url, cancel_url=cancel_url)
    fingerprint = _fingerprint(plan=plan_code, interval=interval, success_url=success_url, cancel_url=cancel_url)
    with transaction.atomic(durable=True):
        # One checkout at a time per organization: keys and customers are decided under this lock.
        organization = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        if idempotency_key:
            existing = CheckoutSession.objects.filter(
                organization=organization, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                if existing.request_fingerprint != fingerprint:
                    raise IdempotencyKeyReused(details={"idempotency_key": idempotency_key})
                return existing, False
        plan = Plan.objects.filter(code=plan_code, is_active=True).first()
        if plan is None or interval not in BillingInterval.values or not plan.stripe_price(interval):
            raise ValidationError(
                details={"plan": [f"Plan {plan_code!r} cannot be bought with a {interval!r} interval."]}
            )
        current = live_subscription(organization=organization)
        if current is not None:
            raise Conflict(
                "The organization already has a subscription; change plans in the billing portal.",
                details={"reason": "already_subscribed", "plan": current.plan.code},
            )
        customer_id = stripe_customer_ensure(actor=actor, organization=organization)
        metadata = {"organization_id": str(organization.pk), "plan": plan.code, "interval": interval}
        with stripe_errors("creating a checkout session"):
            session = stripe_client().v1.checkout.sessions.create(
                params={
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": str(organization.pk),
                    "line_items": [{"price": plan.stripe_price(interval), "quantity": 1}],
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "metadata": metadata,
                    "subscription_data": {"metadata": metadata},
                },
                options={"idempotency_key": f"olympus-checkout-{organization.pk}-{idempotency_key or uuid.uuid4()}"},
            )
        checkout = CheckoutSession(
            organization=organization,
            created_by=actor,
            plan=plan,
            interval=interval,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            stripe_session_id=session.id,
            url=session.url or "",  # Stripe always returns one for a hosted session
            success_url=success_url,
            cancel_url=cancel_url,
        )
        checkout.full_clean(validate_constraints=False)
        checkout.save(force_insert=True)
        record(
            action="billing.checkout_started",
            resource_type="checkout_session",
            resource_id=checkout.pk,
            organization=organization,
            new_values={"plan": plan.code, "interval": interval, "stripe_session_id": session.id},
            actor=actor,
        )
    return checkout, True


def checkout_session_complete(*, data: dict[str, Any]) -> CheckoutSession | None:
    """Mark our checkout row complete from a ``checkout.session.completed`` object (idempotent)."""
    with transaction.atomic():
        checkout = CheckoutSession.objects.select_for_update().filter(stripe_session_id=data.get("id", "")).first()
        if checkout is None or checkout.status == CheckoutSession.Status.COMPLETE:
            return checkout
        subscription = data.get("subscription") or ""
        changes = model_update(
            instance=checkout,
            fields=["status", "stripe_subscription_id", "completed_at"],
            data={
                "status": CheckoutSession.Status.COMPLETE,
                "stripe_subscription_id": subscription if isinstance(subscription, str) else subscription.get("id"),
                "completed_at": timezone.now(),
            },
        )
        record_and_publish(
            action="billing.checkout_completed",
            resource_type="checkout_session",
            resource_id=checkout.pk,
            organization=checkout.organization_id,
            old_values=changes.old,
            new_values=changes.new,
            actor=None,
            # Its handler emails the subscription confirmation after commit (once: confirmation_sent_at).
            event_type=billing_events.CHECKOUT_COMPLETED,
            payload={"checkout_id": str(checkout.pk), "plan": checkout.plan.code, "interval": checkout.interval},
        )
    return checkout


def subscription_confirmation_send(*, checkout_id: uuid.UUID | str) -> bool:
    """Email "your subscription has started" for a completed checkout, once; True when an email went out.

    To the member who started the checkout and the organization's billing email
    (each address once). The row is locked while sending and the send recorded
    in the same transaction, so a task that runs twice sends one email.
    """
    from apps.billing.emails import send_subscription_confirmation_email

    with transaction.atomic():
        checkout = (
            CheckoutSession.objects.select_for_update(of=("self",))
            .select_related("organization", "plan", "created_by")
            .filter(pk=checkout_id, status=CheckoutSession.Status.COMPLETE)
            .first()
        )
        if checkout is None or checkout.confirmation_sent_at is not None:
            return False
        sent = send_subscription_confirmation_email(checkout=checkout)
        checkout.confirmation_sent_at = timezone.now()
        checkout.save(update_fields=["confirmation_sent_at", "updated_at"])
    return sent


def billing_portal_session_create(
    *,
    actor: User,
    organization: Organization,
    return_url: str,
    permissions: frozenset[str] | None = None,
) -> str:
    """A Stripe billing portal URL for the organization's customer (``change_billing``; 409 before any checkout)."""
    permission_require(user=actor, organization=organization, perm="change_billing", permissions=permissions)
    _check_redirects(return_url=return_url)
    if not organization.stripe_customer_id:
        raise Conflict(
            "The organization has no billing account yet; subscribe to a plan first.",
            details={"reason": "no_customer"},
        )
    with stripe_errors("creating a billing portal session"):
        session = stripe_client().v1.billing_portal.sessions.create(
            params={"customer": organization.stripe_customer_id, "return_url": return_url}
        )
    return session.url
