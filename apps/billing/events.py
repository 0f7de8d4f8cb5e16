"""Event types the billing app publishes through the outbox (payloads carry ids and plan codes), and its handlers."""

from apps.billing import tasks
from apps.core.events import event_handler
from apps.core.models import OutboxEvent

SUBSCRIPTION_UPDATED = "subscription.updated"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"


@event_handler(INVOICE_PAYMENT_FAILED)
def send_payment_failed_email_on_event(event: OutboxEvent) -> None:
    tasks.send_payment_failed_email.delay(event.payload["invoice_id"])
