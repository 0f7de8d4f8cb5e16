"""Every organization event becomes webhook deliveries (the catch-all ``"*"`` outbox handler)."""

from apps.core.events import event_handler
from apps.core.models import OutboxEvent
from apps.webhooks import services


@event_handler("*")
def fan_out_to_webhooks(event: OutboxEvent) -> None:
    services.webhook_fan_out(event=event)
