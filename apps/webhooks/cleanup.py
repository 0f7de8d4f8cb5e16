"""Cleanup: attempts of delivered webhook deliveries past ``WEBHOOK_ATTEMPT_RETENTION_DAYS`` (30)."""

from apps.jobs.housekeeping import cleanup_step
from apps.webhooks import services


@cleanup_step("webhooks.delivered_attempts")
def delivered_attempts() -> int:
    return services.webhook_attempts_prune()
