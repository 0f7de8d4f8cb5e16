from celery import shared_task


@shared_task(acks_late=True)
def outbox_relay(event_id: str | None = None) -> int:
    """After a commit: dispatch every due outbox event (``event_id`` is accepted from older messages)."""
    from apps.core import events

    return events.outbox_drain()


@shared_task(acks_late=True)
def outbox_sweep() -> int:
    """Beat: dispatch events whose on-commit relay never ran or that are due a retry."""
    from apps.core import events

    return events.outbox_sweep()


@shared_task(acks_late=True)
def idempotency_keys_purge() -> int:
    """Beat, nightly: drop Idempotency-Key responses past their 24 h lifetime."""
    from apps.core.idempotency import idempotency_keys_purge as purge

    return purge()
