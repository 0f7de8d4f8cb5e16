"""Stripe webhooks: verify, store once, process on the ``webhooks`` queue.

The endpoint verifies the ``Stripe-Signature`` header against every
configured endpoint secret (rotation) before anything else, stores the event
under its unique Stripe id (a redelivery is a no-op) and answers at once; a
Celery task processes it after commit. Processing holds a lock on the event and
runs only pending events, so one event is handled once however often it is
delivered or relayed; handlers are idempotent besides, so two events about one
object (or a retry after a crash) converge on Stripe's current state. A
handler that fails is retried by the beat sweep with backoff; an event that
cannot be mapped (e.g. an unknown price) waits as ``failed`` for staff to fix
the cause and use the admin's "reprocess" action.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from apps.billing.errors import BillingNotConfigured, UnprocessableStripeEvent
from apps.billing.models import CheckoutSession, Invoice, StripeEvent
from apps.billing.services.checkout import checkout_session_complete
from apps.billing.services.invoices import invoice_apply, invoice_subscription_id, payment_failed_notice_queue
from apps.billing.services.payments import on_charge_refunded, on_payment_intent
from apps.billing.services.subscriptions import from_timestamp, subscription_refresh
from apps.billing.tasks import stripe_event_process as stripe_event_process_task
from apps.core.events import retry_delay
from apps.core.exceptions import ValidationError

logger = logging.getLogger("olympus.billing.webhooks")
# Cache keys of the leases taken on Stripe events while they are processed (+ the event id).
EVENT_LEASE_PREFIX = "billing:stripe-event-lease:"


def _signature_time(header: str | None) -> float:
    """The ``t=`` of a ``Stripe-Signature`` header (0 when absent or malformed: the HMAC check refuses it)."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return float(value)
    return 0.0


def stripe_signature_verify(*, payload: bytes, header: str | None) -> None:
    """Accept the payload only if ``header`` signs it with one of our endpoint secrets, recently.

    The check is Stripe's own (``stripe.WebhookSignature``, v1 HMAC-SHA256 of
    ``"<t>.<body>"``, tolerance ``STRIPE_WEBHOOK_TOLERANCE_SECONDS``). Every
    secret of ``STRIPE_WEBHOOK_SECRETS`` is tried, so an old and a new secret
    both work while one is rotated.
    """
    secrets = settings.STRIPE_WEBHOOK_SECRETS
    if not secrets:
        raise BillingNotConfigured("Stripe webhooks are not configured on this server.")
    # Stripe's check refuses old signatures only; one dated beyond the tolerance ahead is refused too.
    if _signature_time(header) > time.time() + settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS:
        raise ValidationError(
            "Invalid Stripe signature.", details={"stripe_signature": ["The signature is dated in the future."]}
        )
    stale = False
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload, header, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            stale = stale or "tolerance" in str(exc)
        except UnicodeDecodeError:
            break
        else:
            return
    reason = "The signature is too old." if stale else "The signature does not match."
    raise ValidationError("Invalid Stripe signature.", details={"stripe_signature": [reason]})


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise ValidationError("The body is not a JSON Stripe event.") from exc
    obj = ((event or {}).get("data") or {}).get("object") if isinstance(event, dict) else None
    if not (isinstance(event, dict) and event.get("id") and event.get("type") and isinstance(obj, dict)):
        raise ValidationError("The body is not a Stripe event.")
    return event


def stripe_event_record(*, payload: bytes) -> tuple[StripeEvent, bool]:
    """Store a verified event once; returns ``(event, created)``. Processing is queued after commit."""
    data = _parse(payload)
    with transaction.atomic():
        event, created = StripeEvent.objects.get_or_create(
            stripe_event_id=data["id"],
            defaults={
                "type": data["type"],
                "api_version": data.get("api_version") or "",
                "livemode": bool(data.get("livemode")),
                "stripe_created_at": from_timestamp(data.get("created")) or timezone.now(),
                "object_id": str(data["data"]["object"].get("id") or "")[:255],
                "payload": data,
            },
        )
        if created:
            _enqueue_after_commit(event.pk)
    return event, created


def _enqueue_after_commit(event_id: uuid.UUID) -> None:
    def enqueue() -> None:
        try:
            stripe_event_process_task.delay(str(event_id))
        except Exception:  # broker down: the beat sweep processes it later
            logger.warning("could not enqueue stripe event %s; the sweep will retry", event_id, exc_info=True)

    transaction.on_commit(enqueue)


# --- handlers: data is the event's object; they return the organization id affected, or None ----------


def _on_checkout_completed(data: dict[str, Any]) -> Any:
    checkout = checkout_session_complete(data=data)
    subscription_id = data.get("subscription")
    if subscription_id:
        subscription = subscription_refresh(stripe_subscription_id=str(subscription_id))
        if subscription is not None:
            return subscription.organization_id
    return checkout.organization_id if isinstance(checkout, CheckoutSession) else None


def _on_subscription(data: dict[str, Any]) -> Any:
    subscription = subscription_refresh(stripe_subscription_id=data["id"])
    return subscription.organization_id if subscription is not None else None


def _on_invoice_paid(data: dict[str, Any]) -> Any:
    subscription_id = invoice_subscription_id(data)
    if subscription_id:  # a paid first invoice is what activates the subscription
        subscription_refresh(stripe_subscription_id=subscription_id)
    invoice = invoice_apply(data=data, status=Invoice.Status.PAID)
    return invoice.organization_id if invoice is not None else None


def _on_invoice_payment_failed(data: dict[str, Any]) -> Any:
    subscription_id = invoice_subscription_id(data)
    if subscription_id:
        subscription_refresh(stripe_subscription_id=subscription_id)
    invoice = invoice_apply(data=data)
    if invoice is None:
        return None
    payment_failed_notice_queue(invoice=invoice)
    return invoice.organization_id


HANDLERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_succeeded": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_payment_failed,
    "payment_intent.succeeded": on_payment_intent,
    "payment_intent.payment_failed": on_payment_intent,
    "payment_intent.canceled": on_payment_intent,
    "charge.refunded": on_charge_refunded,
}


def register_stripe_handler(event_type: str, handler: Callable[[dict[str, Any]], Any]) -> None:
    """Let another module handle an event type (order payments register theirs)."""
    HANDLERS[event_type] = handler


@contextmanager
def _event_lock(event_id: uuid.UUID | str) -> Iterator[bool]:
    """A lease on one event in the cache, held across the handler's own transactions.

    Not a PostgreSQL session advisory lock: behind a transaction pooler (PgBouncer in
    transaction mode, docs/databases.md) the unlock may reach another server connection
    than the lock, which then holds it for good. The lease outlives the longest task
    (``CELERY_TASK_TIME_LIMIT``), so a worker that died mid-event frees it for the sweep.
    The cache down is an error: the event stays pending and the sweep runs it later.
    """
    key = f"{EVENT_LEASE_PREFIX}{uuid.UUID(str(event_id))}"
    token = uuid.uuid4().hex
    acquired = bool(cache.add(key, token, timeout=settings.CELERY_TASK_TIME_LIMIT + 60))
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def stripe_event_process(*, event_id: uuid.UUID | str) -> str:
    """Run the handler of one pending event; returns the event's status afterwards ("skipped": not ours to run).

    A lease per event (in the cache) keeps a relay and a sweep from running
    one event at the same time, and a processed event is never run again. The
    handler is not wrapped in one transaction: it calls other apps' services,
    each one transaction of its own (orders' transitions are durable), and
    every step is idempotent, so a crash halfway is finished by the retry.
    """
    with _event_lock(event_id) as acquired:
        event = StripeEvent.objects.filter(pk=event_id, status=StripeEvent.Status.PENDING).first() if acquired else None
        if event is None:
            return "skipped"
        handler = HANDLERS.get(event.type)
        event.attempts += 1
        fields = ["attempts", "status", "last_error", "processed_at", "organization_id", "updated_at"]
        if handler is None:
            event.status, event.processed_at = StripeEvent.Status.IGNORED, timezone.now()
            event.save(update_fields=fields)
            return event.status
        try:
            organization_id = handler(event.payload["data"]["object"])
        except UnprocessableStripeEvent as exc:
            event.status, event.last_error = StripeEvent.Status.FAILED, exc.message
            logger.error("stripe event %s (%s) cannot be processed: %s", event.stripe_event_id, event.type, exc)
        except Exception as exc:
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if event.attempts >= settings.BILLING_EVENT_MAX_ATTEMPTS:
                event.status = StripeEvent.Status.FAILED
                logger.error("stripe event %s (%s) failed for good", event.stripe_event_id, event.type, exc_info=exc)
            else:
                event.next_attempt_at = timezone.now() + retry_delay(event.attempts)
                fields.append("next_attempt_at")
                logger.warning(
                    "stripe event %s (%s) failed; will retry", event.stripe_event_id, event.type, exc_info=exc
                )
        else:
            event.status = StripeEvent.Status.PROCESSED if organization_id else StripeEvent.Status.IGNORED
            event.organization_id, event.last_error = organization_id, ""
            event.processed_at = timezone.now()
        event.save(update_fields=fields)
        return event.status


def stripe_events_sweep(*, limit: int = 200) -> int:
    """Process pending events that are due (lost relays, retries after a failure); returns how many ran."""
    due = StripeEvent.objects.filter(
        status=StripeEvent.Status.PENDING, next_attempt_at__lte=timezone.now() - settings.BILLING_EVENT_SWEEP_GRACE
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    return sum(stripe_event_process(event_id=event_id) == StripeEvent.Status.PROCESSED for event_id in ids)


def stripe_events_reprocess(*, event_ids: list[uuid.UUID]) -> int:
    """Put events back in the queue (admin action); handlers are idempotent, so processed ones may rerun."""
    with transaction.atomic():
        events = StripeEvent.objects.filter(pk__in=event_ids)
        ids = list(events.values_list("pk", flat=True))
        events.update(status=StripeEvent.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error="")
        for event_id in ids:
            _enqueue_after_commit(event_id)
    return len(ids)
