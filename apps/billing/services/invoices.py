"""Invoices as Stripe reports them, and the payment-failed notice."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from apps.billing import events as billing_events
from apps.billing.models import Invoice, Subscription
from apps.billing.services.subscriptions import from_timestamp, organization_for_stripe
from apps.core.events import publish_event
from apps.core.services import model_update

# Once an invoice is settled Stripe never reopens it: a late "open" snapshot must not win.
SETTLED = frozenset({Invoice.Status.PAID, Invoice.Status.VOID, Invoice.Status.UNCOLLECTIBLE})
INVOICE_FIELDS = (
    "subscription",
    "number",
    "status",
    "currency",
    "amount_due_cents",
    "amount_paid_cents",
    "hosted_invoice_url",
    "period_start",
    "period_end",
    "paid_at",
    "attempt_count",
)


def invoice_subscription_id(data: dict[str, Any]) -> str:
    """``subscription`` in older API versions, ``parent.subscription_details.subscription`` since 2025."""
    subscription = data.get("subscription") or (
        ((data.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )
    if isinstance(subscription, dict):
        return str(subscription.get("id", ""))
    return str(subscription or "")


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    details = (data.get("parent") or {}).get("subscription_details") or {}
    return {**(details.get("metadata") or {}), **(data.get("metadata") or {})}


def invoice_apply(*, data: dict[str, Any], status: str | None = None) -> Invoice | None:
    """Store (or update) one Stripe invoice of ours; None when it belongs to no organization here.

    ``status`` overrides the snapshot's status (``invoice.paid`` means paid).
    A settled invoice never goes back to open.
    """
    customer = data.get("customer") or ""
    customer_id = customer.get("id", "") if isinstance(customer, dict) else customer
    subscription_id = invoice_subscription_id(data)
    subscription = (
        Subscription.objects.filter(stripe_subscription_id=subscription_id).first() if subscription_id else None
    )
    organization = (
        subscription.organization
        if subscription is not None
        else organization_for_stripe(metadata=_metadata(data), customer_id=customer_id)
    )
    if organization is None:
        return None
    transitions = data.get("status_transitions") or {}
    values = {
        "subscription": subscription,
        "number": data.get("number") or "",
        "status": status or data.get("status") or Invoice.Status.OPEN,
        "currency": (data.get("currency") or "usd").upper(),
        "amount_due_cents": int(data.get("amount_due") or 0),
        "amount_paid_cents": int(data.get("amount_paid") or 0),
        "hosted_invoice_url": data.get("hosted_invoice_url") or "",
        "period_start": from_timestamp(data.get("period_start")),
        "period_end": from_timestamp(data.get("period_end")),
        "paid_at": from_timestamp(transitions.get("paid_at")),
        "attempt_count": int(data.get("attempt_count") or 0),
    }
    if values["status"] == Invoice.Status.PAID and not values["amount_paid_cents"]:
        values["amount_paid_cents"] = values["amount_due_cents"]
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(stripe_invoice_id=data["id"]).first()
        if invoice is None:
            invoice = Invoice(
                organization=organization,
                stripe_invoice_id=data["id"],
                # None when Stripe sent no date: full_clean() below rejects it
                stripe_created_at=from_timestamp(data.get("created") or data.get("date")),  # type: ignore[misc]
                **values,
            )
            invoice.full_clean(validate_constraints=False)
            invoice.save(force_insert=True)
            return invoice
        if invoice.status in SETTLED and values["status"] not in SETTLED:
            values = {key: value for key, value in values.items() if key not in {"status", "amount_paid_cents"}}
        model_update(instance=invoice, fields=INVOICE_FIELDS, data=values)
    return invoice


def payment_failed_notice_queue(*, invoice: Invoice) -> None:
    """Email the billing contact and the owners about a failed payment: an outbox event in the caller's
    transaction, whose handler (``apps.billing.events``) sends the email after commit."""
    publish_event(
        event_type=billing_events.INVOICE_PAYMENT_FAILED,
        organization_id=invoice.organization_id,
        payload={"invoice_id": str(invoice.pk), "amount_due_cents": invoice.amount_due_cents},
    )


def payment_failed_notice_send(*, invoice_id: uuid.UUID | str) -> bool:
    """Send the notice once per failed payment attempt; True when an email went out.

    Safe to run twice: the attempt that was notified is recorded with the send.
    """
    from apps.billing.emails import send_payment_failed_email

    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("organization", "subscription__plan")
            .filter(pk=invoice_id)
            .first()
        )
        if invoice is None or invoice.status in SETTLED:
            return False
        attempt = max(invoice.attempt_count, 1)
        if invoice.failure_notified_attempt >= attempt:
            return False
        sent = send_payment_failed_email(invoice=invoice)
        invoice.failure_notified_attempt = attempt
        invoice.save(update_fields=["failure_notified_attempt", "updated_at"])
    return sent
