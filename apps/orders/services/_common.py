"""What the order services share: the audit values and the event payload of an order."""

from __future__ import annotations

from typing import Any

from apps.orders.models import Order


def _audit_values(order: Order) -> dict[str, Any]:
    return {
        "order_number": order.order_number,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "cancel_reason": order.cancel_reason,
        "stock_returned_at": order.stock_returned_at,
    }


def _payload(order: Order, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": str(order.pk),
        "order_number": order.order_number,
        "user_id": str(order.user_id) if order.user_id else None,
        "status": order.status,
        **extra,
    }
