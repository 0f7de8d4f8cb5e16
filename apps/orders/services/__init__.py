"""Every write to orders: placement, the lifecycle transitions, notes, payment status, customer emails.

Each public service is one transaction holding the change, its audit entry and
its outbox event. Transitions lock the order row first (``SELECT ... FOR
UPDATE``), so two concurrent transitions of one order run one after the other
and the second sees the first's status. Lock order is always products before
the order-number counter (placement) and order before products (cancel,
refund): no cycle, no deadlock. See each module; the names other modules use are
re-exported here.
"""

from apps.orders.services.lifecycle import (
    EDITABLE_FIELDS,
    TRANSITION_SERVICES,
    RefundResult,
    order_cancel,
    order_confirm,
    order_deliver,
    order_email_send,
    order_process,
    order_refund,
    order_refund_request,
    order_ship,
    order_transition,
    order_update,
)
from apps.orders.services.payment import order_payment_update
from apps.orders.services.placement import MAX_LINES, MAX_QUANTITY, Totals, order_place, order_totals
from apps.orders.services.unpaid import (
    PAYMENT_FAILED,
    PAYMENT_TIMEOUT,
    UNPAID_CANCEL_REASONS,
    order_awaits_payment,
    order_cancel_unpaid,
    orders_payment_overdue,
    orders_payment_timeout_sweep,
)
from apps.orders.services.usage import order_usage_reconcile

__all__ = [
    "EDITABLE_FIELDS",
    "MAX_LINES",
    "MAX_QUANTITY",
    "PAYMENT_FAILED",
    "PAYMENT_TIMEOUT",
    "TRANSITION_SERVICES",
    "UNPAID_CANCEL_REASONS",
    "RefundResult",
    "Totals",
    "order_awaits_payment",
    "order_cancel",
    "order_cancel_unpaid",
    "order_confirm",
    "order_deliver",
    "order_email_send",
    "order_payment_update",
    "order_place",
    "order_process",
    "order_refund",
    "order_refund_request",
    "order_ship",
    "order_totals",
    "order_transition",
    "order_update",
    "order_usage_reconcile",
    "orders_payment_overdue",
    "orders_payment_timeout_sweep",
]
