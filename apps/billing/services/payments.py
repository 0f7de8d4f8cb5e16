"""Order payments through Stripe PaymentIntents, refunds, and what Stripe's events do to orders.

The order's lifecycle belongs to the orders app: these services only call
its services (``order_payment_update`` for ``payment_status``, ``order_confirm``
when a pending order is paid, ``order_refund`` when its payment is fully
refunded, which also returns the stock). Those services lock the order and
move only forward, so a repeated or late event changes nothing: a paid order
is confirmed exactly once however often Stripe says so.

Handlers read the PaymentIntent or charge from Stripe instead of trusting
the event's snapshot: the current state wins whatever the delivery order.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.services import record
from apps.billing.errors import PaymentProviderUnavailable, UnprocessableStripeEvent
from apps.billing.models import Payment, Refund
from apps.billing.stripe_api import as_dict, stripe_client, stripe_errors
from apps.core.events import publish_event
from apps.core.exceptions import Conflict, PermissionDenied, ValidationError
from apps.orders import services as order_services
from apps.orders.errors import InvalidTransition
from apps.orders.models import Order

logger = logging.getLogger("olympus.billing.payments")

PAYMENT_REFUNDED = "payment.refunded"
# Orders that can still be paid.
PAYABLE_STATUSES = frozenset({Order.Status.PENDING, Order.Status.CONFIRMED})
# Refunds that count against what is left to refund.
OPEN_REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded"})


def _retrieve(kind: str, object_id: str) -> dict[str, Any]:
    try:
        with stripe_errors(f"reading a {kind}"):
            service = getattr(stripe_client().v1, kind)
            return as_dict(service.retrieve(object_id))
    except PaymentProviderUnavailable as exc:
        if getattr(exc.__cause__, "http_status", None) == 404:
            raise UnprocessableStripeEvent(f"Stripe does not know this {kind}.", details={"id": object_id}) from exc
        raise


def _intent_view(intent: Any) -> dict[str, Any]:
    return {"client_secret": intent["client_secret"], "status": intent["status"]}


def order_payment_intent(*, user: User, order: Order) -> tuple[Payment, dict[str, Any]]:
    """Create (once) or return the order's PaymentIntent; returns the payment and ``{client_secret, status}``.

    Only the order's customer pays (403 for anyone else). Amount and currency
    are the order's; metadata carries the order and organization ids. One
    PaymentIntent per order: a second call returns the first (a Stripe
    idempotency key covers two concurrent first calls), and a cancelled or
    refunded order cannot be paid (409).
    """
    if order.user_id != user.pk:
        raise PermissionDenied("Only the order's customer pays for it.")
    existing = Payment.objects.filter(order=order).first()
    if existing is not None and order.status in PAYABLE_STATUSES:
        current = _retrieve("payment_intents", existing.stripe_payment_intent_id)
        return existing, _intent_view(current)
    if order.status not in PAYABLE_STATUSES or order.payment_status not in {"pending", "failed"}:
        raise Conflict(
            "This order cannot be paid.",
            details={"reason": "not_payable", "status": order.status, "payment_status": order.payment_status},
        )
    if order.total_cents <= 0:
        raise Conflict("This order has nothing to pay.", details={"reason": "nothing_to_pay"})
    with stripe_errors("creating a payment intent"):
        intent = stripe_client().v1.payment_intents.create(
            params={
                "amount": order.total_cents,
                "currency": order.currency.lower(),
                "metadata": {
                    "order_id": str(order.pk),
                    "organization_id": str(order.organization_id),
                    "order_number": str(order.order_number),
                },
            },
            options={"idempotency_key": f"olympus-order-{order.pk}-payment-intent"},
        )
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                order=order,
                organization_id=order.organization_id,
                stripe_payment_intent_id=intent.id,
                amount_cents=order.total_cents,
                currency=order.currency,
                status=intent.status,
            )
            order_services.order_payment_update(order=order, stripe_payment_intent_id=intent.id, actor=user)
            record(
                action="payment.created",
                resource_type="payment",
                resource_id=payment.pk,
                organization=order.organization_id,
                new_values={"order_id": order.pk, "amount_cents": payment.amount_cents, "intent": intent.id},
                actor=user,
            )
    except IntegrityError:  # a concurrent first call stored it (same intent, thanks to the idempotency key)
        payment = Payment.objects.get(order=order)
    return payment, _intent_view(intent)


def payment_refund(
    *,
    actor: User,
    order: Order,
    amount_cents: int | None = None,
    reason: str = "",
    idempotency_key: str = "",
) -> Refund:
    """Ask Stripe to refund all (default) or ``amount_cents`` of the order's payment.

    The order's ``payment_status`` and ``status`` follow Stripe's
    ``charge.refunded`` event, not this request. Refunds requested and not
    failed count against what is left (400 beyond it); an order without a
    succeeded payment cannot be refunded here (409).
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(order=order).first()
        if payment is None or payment.status != "succeeded":
            raise Conflict("This order has no captured Stripe payment to refund.", details={"reason": "not_paid"})
        requested = sum(payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).values_list("amount_cents", flat=True))
        remaining = payment.amount_cents - max(requested, payment.amount_refunded_cents)
        amount = remaining if amount_cents is None else amount_cents
        if remaining <= 0:
            raise Conflict("This payment is already fully refunded.", details={"reason": "already_refunded"})
        if not 0 < amount <= remaining:
            raise ValidationError(details={"amount_cents": [f"Between 1 and {remaining} (what is left to refund)."]})
        row = _refund_create(
            payment=payment,
            amount=amount,
            reason=reason,
            actor=actor,
            idempotency_key=f"olympus-refund-{order.pk}-{idempotency_key or uuid.uuid4()}",
        )
    return row


def _refund_create(*, payment: Payment, amount: int, reason: str, actor: User | None, idempotency_key: str) -> Refund:
    """Ask Stripe for a refund of ``amount`` and record it (the payment row is locked by the caller)."""
    with stripe_errors("creating a refund"):
        refund = stripe_client().v1.refunds.create(
            params={
                "payment_intent": payment.stripe_payment_intent_id,
                "amount": amount,
                "metadata": {
                    "order_id": str(payment.order_id),
                    "requested_by": str(actor.pk) if actor is not None else "olympus",
                },
            },
            options={"idempotency_key": idempotency_key},
        )
    row, _ = Refund.objects.get_or_create(
        stripe_refund_id=refund.id,
        defaults={
            "payment": payment,
            "organization_id": payment.organization_id,
            "amount_cents": refund.amount,
            "currency": payment.currency,
            "status": refund.status or "pending",
            "reason": reason,
            "requested_by": actor,
        },
    )
    record(
        action="payment.refund_requested",
        resource_type="payment",
        resource_id=payment.pk,
        organization=payment.organization_id,
        new_values={
            "order_id": payment.order_id,
            "amount_cents": row.amount_cents,
            "refund": refund.id,
            "reason": reason,
        },
        actor=actor,
    )
    return row


# PaymentIntent states in which Stripe can still cancel it (nothing was taken yet, or only authorized).
CANCELLABLE_INTENT_STATUSES = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"}
)
CANCELLED_ORDER_REFUND_REASON = "order_cancelled"


def order_payment_release(*, order_id: uuid.UUID | str) -> str:
    """A cancelled order keeps none of the customer's money; returns what was done.

    An open PaymentIntent is cancelled at Stripe (``"canceled"``), so the
    customer cannot pay for an order that no longer exists; one that succeeded
    anyway (paid while, or just after, the order was cancelled) is refunded in
    full (``"refunded"``), once: the payment row is locked, and the refund's
    Stripe idempotency key is the order's. A processing intent is left to its
    success or failure event, which calls this again (``"waiting"``).
    Idempotent: ``"none"`` when there is nothing (left) to do.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").filter(order_id=order_id).first()
        if payment is None or payment.order.status != Order.Status.CANCELLED:
            return "none"
        intent = _retrieve("payment_intents", payment.stripe_payment_intent_id)
        if intent["status"] in CANCELLABLE_INTENT_STATUSES:
            with stripe_errors("cancelling a payment intent"):
                cancelled = stripe_client().v1.payment_intents.cancel(
                    payment.stripe_payment_intent_id,
                    options={"idempotency_key": f"olympus-order-{order_id}-cancel-intent"},
                )
            _payment_sync(payment, as_dict(cancelled))
            record(
                action="payment.canceled",
                resource_type="payment",
                resource_id=payment.pk,
                organization=payment.organization_id,
                new_values={"order_id": payment.order_id, "intent": payment.stripe_payment_intent_id},
                actor=None,
            )
            return "canceled"
        _payment_sync(payment, intent)
        if intent["status"] != "succeeded":
            return "waiting" if intent["status"] == "processing" else "none"
        requested = sum(payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).values_list("amount_cents", flat=True))
        remaining = payment.amount_cents - max(requested, payment.amount_refunded_cents)
        if remaining <= 0:
            return "none"
        _refund_create(
            payment=payment,
            amount=remaining,
            reason=CANCELLED_ORDER_REFUND_REASON,
            actor=None,
            idempotency_key=f"olympus-order-{order_id}-cancelled-refund",
        )
        logger.info("order %s was paid after it was cancelled: its payment is refunded", order_id)
        return "refunded"


def order_paid_online(order: Order) -> bool:
    """Whether the order was paid through Stripe (its refunds then go through Stripe too)."""
    return Payment.objects.filter(order=order, status="succeeded").exists()


class StripeRefunds:
    """Billing's side of ``apps.orders.payments``: orders paid through Stripe are refunded through Stripe."""

    def paid_online(self, order: Order) -> bool:
        return order_paid_online(order)

    def refund(
        self, *, actor: Any, order: Order, amount_cents: int | None, reason: str, idempotency_key: str
    ) -> Refund:
        return payment_refund(
            actor=actor, order=order, amount_cents=amount_cents, reason=reason, idempotency_key=idempotency_key
        )


# --- webhook handlers: data is the event's object; they return the organization id, or None if not ours ----


def _payment_for_intent(intent_id: str) -> Payment | None:
    return Payment.objects.select_related("order").filter(stripe_payment_intent_id=intent_id).first()


def _payment_sync(payment: Payment, intent: dict[str, Any]) -> None:
    error = (intent.get("last_payment_error") or {}).get("message") or ""
    updates = {"status": intent["status"], "last_error": error[:500]}
    if intent["status"] == "succeeded" and payment.succeeded_at is None:
        updates["succeeded_at"] = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(**updates, updated_at=timezone.now())


def _confirm_paid(order: Order) -> None:
    order_services.order_payment_update(order=order, payment_status=Order.PaymentStatus.CAPTURED)
    order.refresh_from_db(fields=["status"])
    if order.status == Order.Status.CANCELLED:  # paid after it was cancelled: the money goes back
        order_payment_release(order_id=order.pk)
        return
    if order.status == Order.Status.PENDING:
        try:
            order_services.order_confirm(order=order)
        except InvalidTransition:  # confirmed (or cancelled) meanwhile by someone else: nothing to do
            logger.info("order %s was not pending any more when its payment succeeded", order.pk)


def _cancel_unpaid(order: Order) -> None:
    """A failed or cancelled payment: payment marked failed, and a pending order cancelled (stock back once)."""
    order_services.order_payment_update(order=order, payment_status=Order.PaymentStatus.FAILED)
    if not order_services.order_cancel_unpaid(order=order, reason=order_services.PAYMENT_FAILED):
        logger.info("order %s was not awaiting payment any more when its payment failed", order.pk)


def on_payment_intent(data: dict[str, Any]) -> Any:
    """``payment_intent.succeeded`` / ``payment_failed`` / ``canceled``: the intent's current status decides.

    A failed (``requires_payment_method`` after an attempt) or cancelled intent
    cancels the pending order with reason ``payment_failed``
    (``orders.services.order_cancel_unpaid``: stock back once, customer emailed).
    """
    payment = _payment_for_intent(data["id"])
    if payment is None:
        return None  # not an order payment of ours (e.g. a subscription invoice's intent)
    intent = _retrieve("payment_intents", data["id"])
    _payment_sync(payment, intent)
    if intent["status"] == "succeeded":
        _confirm_paid(payment.order)
    elif intent["status"] == "canceled" or (
        intent["status"] == "requires_payment_method" and intent.get("last_payment_error")
    ):
        _cancel_unpaid(payment.order)
    elif intent["status"] == "requires_capture":
        order_services.order_payment_update(order=payment.order, payment_status=Order.PaymentStatus.AUTHORIZED)
    return payment.organization_id


def on_charge_refunded(data: dict[str, Any]) -> Any:
    """``charge.refunded``: record the refunds; a fully refunded order is refunded (stock returned, once)."""
    intent_id = data.get("payment_intent") or ""
    payment = _payment_for_intent(intent_id if isinstance(intent_id, str) else intent_id.get("id", ""))
    if payment is None:
        return None
    charge = _retrieve("charges", data["id"])
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        refunded = min(max(int(charge.get("amount_refunded") or 0), locked.amount_refunded_cents), locked.amount_cents)
        for refund in (charge.get("refunds") or {}).get("data") or []:
            Refund.objects.update_or_create(
                stripe_refund_id=refund["id"],
                defaults={
                    "payment": locked,
                    "organization_id": locked.organization_id,
                    "amount_cents": refund["amount"],
                    "currency": locked.currency,
                    "status": refund.get("status") or "succeeded",
                },
            )
        if refunded != locked.amount_refunded_cents:
            previous = locked.amount_refunded_cents
            locked.amount_refunded_cents = refunded
            locked.save(update_fields=["amount_refunded_cents", "updated_at"])
            full = refunded >= locked.amount_cents
            record(
                action="payment.refunded" if full else "payment.partially_refunded",
                resource_type="payment",
                resource_id=locked.pk,
                organization=locked.organization_id,
                old_values={"amount_refunded_cents": previous},
                new_values={"amount_refunded_cents": refunded},
                actor=None,
            )
            publish_event(
                event_type=PAYMENT_REFUNDED,
                organization_id=locked.organization_id,
                payload={
                    "order_id": str(locked.order_id),
                    "payment_id": str(locked.pk),
                    "amount_refunded_cents": refunded,
                    "amount_cents": locked.amount_cents,
                    "full": full,
                },
            )
    if refunded >= payment.amount_cents:
        _refund_order(payment.order)
    return payment.organization_id


def _refund_order(order: Order) -> None:
    order.refresh_from_db(fields=["status", "payment_status"])
    if order.status == Order.Status.REFUNDED:
        return
    try:
        order_services.order_refund(order=order, reason="Refunded through Stripe")
    except InvalidTransition:
        # e.g. a cancelled order (its stock already came back): only the payment is refunded.
        order_services.order_payment_update(order=order, payment_status=Order.PaymentStatus.REFUNDED)
