"""Every organization event becomes webhook deliveries (the catch-all ``"*"`` outbox handler);
a disabled endpoint's owners are emailed from its event."""

from apps.core.events import event_handler
from apps.core.models import OutboxEvent
from apps.webhooks import services, tasks
from apps.webhooks.services import ENDPOINT_DISABLED


@event_handler("*")
def fan_out_to_webhooks(event: OutboxEvent) -> None:
    services.webhook_fan_out(event=event)


@event_handler(ENDPOINT_DISABLED)
def send_endpoint_disabled_email_on_event(event: OutboxEvent) -> None:
    tasks.send_endpoint_disabled_email.delay(event.payload["endpoint_id"])
