"""Event types the billing app publishes through the outbox (payloads carry ids and plan codes), and its handlers."""

from apps.billing import tasks
from apps.billing.models import Payment
from apps.core.events import event_handler
from apps.core.models import OutboxEvent
from apps.orders.events import ORDER_CANCELLED

SUBSCRIPTION_UPDATED = "subscription.updated"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
# A subscription checkout was paid on Stripe's page: the buyer and the billing contact get a confirmation.
CHECKOUT_COMPLETED = "billing.checkout_completed"


@event_handler(INVOICE_PAYMENT_FAILED)
def send_payment_failed_email_on_event(event: OutboxEvent) -> None:
    tasks.send_payment_failed_email.delay(event.payload["invoice_id"])


@event_handler(CHECKOUT_COMPLETED)
def send_subscription_confirmation_on_event(event: OutboxEvent) -> None:
    tasks.send_subscription_confirmation_email.delay(event.payload["checkout_id"])


@event_handler(ORDER_CANCELLED)
def release_payment_on_order_cancelled(event: OutboxEvent) -> None:
    """A cancelled order's open PaymentIntent is cancelled at Stripe (or its money refunded), off the request."""
    order_id = event.payload["order_id"]
    if Payment.objects.filter(order_id=order_id).exists():
        tasks.order_payment_release.delay(order_id)
