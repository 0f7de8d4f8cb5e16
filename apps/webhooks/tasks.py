"""Webhook tasks: thin, idempotent, on the ``webhooks`` queue (the disabled-endpoint email on ``emails``)."""

import smtplib

from celery import shared_task

from apps.webhooks import emails


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: str) -> str | None:
    """Make the next attempt of one delivery if it is due; a no-op otherwise (safe to run twice)."""
    from apps.webhooks import services

    result = services.webhook_delivery_attempt(delivery_id=delivery_id)
    return result.outcome if result else None


@shared_task(acks_late=True)
def deliver_webhooks(endpoint_id: str) -> int:
    """Send the due deliveries of one endpoint, a batch over one connection (queues the next batch itself)."""
    from apps.webhooks import services

    return len(services.webhook_deliveries_send(endpoint_id=endpoint_id))


@shared_task(acks_late=True)
def webhook_sweep() -> int:
    """Beat (every minute): queue deliveries whose next attempt is due."""
    from apps.webhooks import services

    return services.webhook_deliveries_sweep()


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError))
def send_endpoint_disabled_email(endpoint_id: str) -> int:
    """Tell the organization's owners that an endpoint was disabled and why."""
    return emails.send_endpoint_disabled(endpoint_id=endpoint_id)
