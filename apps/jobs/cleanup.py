"""Cleanup steps for shared tables: sessions, JWTs, idempotency keys, dispatched outbox events, old dead letters."""

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.core.models import IdempotencyKey, OutboxEvent
from apps.jobs.housekeeping import cleanup_step
from apps.jobs.models import FailedTask


@cleanup_step("sessions.expired")
def expired_sessions() -> int:
    return Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]


@cleanup_step("auth.expired_tokens")
def expired_tokens() -> int:
    # Blacklist rows go with their token (cascade): an expired token is refused anyway.
    return OutstandingToken.objects.filter(expires_at__lt=timezone.now()).delete()[0]


@cleanup_step("core.expired_idempotency_keys")
def expired_idempotency_keys() -> int:
    return IdempotencyKey.objects.filter(expires_at__lt=timezone.now()).delete()[0]


@cleanup_step("core.dispatched_outbox_events")
def dispatched_outbox_events() -> int:
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    return OutboxEvent.objects.filter(status=OutboxEvent.Status.DISPATCHED, dispatched_at__lt=cutoff).delete()[0]


@cleanup_step("jobs.retried_dead_letters")
def retried_dead_letters() -> int:
    cutoff = timezone.now() - timedelta(days=settings.FAILED_TASK_RETENTION_DAYS)
    return FailedTask.objects.filter(status=FailedTask.Status.RETRIED, retried_at__lt=cutoff).delete()[0]
