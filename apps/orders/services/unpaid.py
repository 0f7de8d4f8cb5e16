"""Stock that never gets stuck: orders whose payment failed, was cancelled or never came are cancelled.

The one rule: a *pending* order that *needs payment* (a total above zero, its
``payment_status`` still ``pending`` or ``failed``) is cancelled by the platform
with ``cancel_reason`` ``payment_failed`` (the provider reported a failed or
cancelled payment) or ``payment_timeout`` (unpaid for ``ORDER_PAYMENT_TIMEOUT``
since it was placed; a beat task sweeps). The cancellation is the ordinary
``cancel`` transition: the order row is locked, the stock comes back once
(``stock_returned_at``), it is audited, ``order.cancelled`` is published and the
customer is emailed. Whichever comes first wins; the other finds the order no
longer pending and does nothing, so stock is returned exactly once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.orders.models import Order
from apps.orders.services.lifecycle import order_cancel

logger = logging.getLogger("olympus.orders.unpaid")

# ``cancel_reason`` of an order the platform cancelled for want of payment (the customer's email explains it).
PAYMENT_FAILED = "payment_failed"
PAYMENT_TIMEOUT = "payment_timeout"
UNPAID_CANCEL_REASONS = (PAYMENT_FAILED, PAYMENT_TIMEOUT)
# Payment states in which an order still waits for its money.
UNPAID_PAYMENT_STATUSES = frozenset({Order.PaymentStatus.PENDING, Order.PaymentStatus.FAILED})
SWEEP_BATCH = 200


def order_awaits_payment(order: Order) -> bool:
    """Whether ``order`` is pending and still needs its money (nothing authorized or captured)."""
    return (
        order.status == Order.Status.PENDING
        and order.payment_status in UNPAID_PAYMENT_STATUSES
        and order.total_cents > 0
    )


def order_cancel_unpaid(*, order: Order, reason: str) -> bool:
    """Cancel ``order`` for want of payment (``reason``: ``payment_failed`` or ``payment_timeout``), once.

    Decided under the order's row lock: an order that was paid, confirmed or
    cancelled meanwhile is left alone and False returned. Not ``durable``:
    billing calls it from a Stripe event handler.
    """
    if reason not in UNPAID_CANCEL_REASONS:
        raise ValueError(f"unknown unpaid-cancel reason {reason!r}")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if not order_awaits_payment(locked):
            return False
        order_cancel(order=locked, reason=reason)
    return True


def orders_payment_overdue(*, now: datetime | None = None, timeout: timedelta | None = None) -> QuerySet[Order]:
    """Pending orders that need payment and were placed more than ``timeout`` ago (oldest first)."""
    cutoff = (now or timezone.now()) - (timeout if timeout is not None else settings.ORDER_PAYMENT_TIMEOUT)
    return Order.objects.filter(
        status=Order.Status.PENDING,
        payment_status__in=UNPAID_PAYMENT_STATUSES,
        total_cents__gt=0,
        created_at__lt=cutoff,
    ).order_by("created_at", "id")


def orders_payment_timeout_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Beat: cancel up to ``limit`` overdue unpaid orders (``payment_timeout``); returns how many were cancelled.

    A zero ``ORDER_PAYMENT_TIMEOUT`` turns the sweep off (shops that take payment
    offline). Each order is its own transaction: one that fails is logged and
    left for the next run.
    """
    if timedelta(0) >= settings.ORDER_PAYMENT_TIMEOUT:
        return 0
    ids: list[uuid.UUID] = list(orders_payment_overdue(now=now).values_list("pk", flat=True)[:limit])
    cancelled = 0
    for order_id in ids:
        try:
            cancelled += order_cancel_unpaid(order=Order(pk=order_id), reason=PAYMENT_TIMEOUT)
        except Exception:  # one bad order must not stop the sweep
            logger.exception("could not cancel unpaid order %s", order_id)
    return cancelled
