"""What the payment provider reports about an order's payment (called by billing)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from apps.audit.services import record_and_publish
from apps.core.services import model_update
from apps.orders import events
from apps.orders.models import Order
from apps.orders.services._common import _payload

# Where a payment status may go next: a captured payment never turns back into failed,
# and a refunded one stays refunded (the refund transition sets that).
PAYMENT_STATUS_NEXT: dict[str, set[str]] = {
    Order.PaymentStatus.PENDING: {"authorized", "captured", "failed"},
    Order.PaymentStatus.FAILED: {"authorized", "captured", "failed"},
    Order.PaymentStatus.AUTHORIZED: {"captured", "failed"},
    Order.PaymentStatus.CAPTURED: {"refunded"},
    Order.PaymentStatus.REFUNDED: set(),
}


def order_payment_update(
    *,
    order: Order,
    payment_status: str | None = None,
    stripe_payment_intent_id: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> Order:
    """Record what the payment provider says about the order's payment; never the lifecycle ``status``.

    Billing calls it from Stripe's webhooks: ``payment_status`` moves only
    forward (``PAYMENT_STATUS_NEXT``), so a late or repeated event changes
    nothing. Confirming a paid order is :func:`order_confirm`; a full refund is
    :func:`order_refund`. Not ``durable``: it nests in the caller's transaction.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        data: dict[str, Any] = {}
        if stripe_payment_intent_id is not None:
            data["stripe_payment_intent_id"] = stripe_payment_intent_id
        if payment_status is not None and payment_status in PAYMENT_STATUS_NEXT[locked.payment_status]:
            data["payment_status"] = payment_status
        changes = model_update(instance=locked, fields=("payment_status", "stripe_payment_intent_id"), data=data)
        if changes:
            record_and_publish(
                action=events.ORDER_PAYMENT_UPDATED,
                resource_type="order",
                resource_id=locked.pk,
                organization=locked.organization_id,
                old_values=changes.old,
                new_values=changes.new,
                **({"actor": actor} if actor is not None else {}),
                event_type=events.ORDER_PAYMENT_UPDATED,
                payload=_payload(locked, payment_status=locked.payment_status, fields=changes.fields),
            )
    return locked
