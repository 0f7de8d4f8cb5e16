"""Event types the orders app publishes through the outbox, and the handlers that email customers.

Payloads carry ids and a few facts, never addresses. Delivery is at least once:
the email task records what it sent on the order, so a redelivered event mails
nobody twice.
"""

from __future__ import annotations

from apps.core.events import event_handler
from apps.core.models import OutboxEvent
from apps.orders import tasks

ORDER_CREATED = "order.created"
ORDER_CONFIRMED = "order.confirmed"
ORDER_PROCESSING = "order.processing"
ORDER_SHIPPED = "order.shipped"
ORDER_DELIVERED = "order.delivered"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"
ORDER_UPDATED = "order.updated"
# The payment provider reported on the payment (payment_status, PaymentIntent id): billing calls it.
ORDER_PAYMENT_UPDATED = "order.payment_updated"

# Transition name -> the event it publishes.
TRANSITION_EVENTS = {
    "confirm": ORDER_CONFIRMED,
    "process": ORDER_PROCESSING,
    "ship": ORDER_SHIPPED,
    "deliver": ORDER_DELIVERED,
    "cancel": ORDER_CANCELLED,
    "refund": ORDER_REFUNDED,
}
# Events the customer is emailed about -> the email (templates/emails/order_<kind>.html/.txt).
CUSTOMER_EMAILS = {ORDER_CONFIRMED: "confirmed", ORDER_SHIPPED: "shipped", ORDER_CANCELLED: "cancelled"}


@event_handler(ORDER_CONFIRMED)
@event_handler(ORDER_SHIPPED)
@event_handler(ORDER_CANCELLED)
def email_customer(event: OutboxEvent) -> None:
    """Queue the customer's email; a broker error fails the handler and the outbox retries."""
    tasks.send_order_email.delay(event.payload["order_id"], CUSTOMER_EMAILS[event.event_type])
