"""Beat and operator work on deliveries: the sweep, replays, and pruning old attempts."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.audit.services import record
from apps.core.exceptions import Conflict, ValidationError
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.webhooks.services._common import User, _authorize, _enqueue_on_commit

logger = logging.getLogger("olympus.webhooks")


def webhook_deliveries_sweep(*, limit: int = 1000) -> int:
    """Beat: queue due deliveries not queued within ``WEBHOOK_REQUEUE_AFTER_SECONDS``; how many were queued."""
    now = timezone.now()
    requeue_before = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(
                Q(enqueued_at__isnull=True)
                | Q(enqueued_at__lte=requeue_before)
                | Q(enqueued_at__lt=F("last_attempt_at"))
            )
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(id__in=ids).update(enqueued_at=now)
        _enqueue_on_commit(ids)
    if ids:
        logger.info("webhook sweep queued %d due deliveries", len(ids))
    return len(ids)


def _requeue(queryset: Any) -> list[uuid.UUID]:
    now = timezone.now()
    ids = list(queryset.values_list("id", flat=True))
    WebhookDelivery.objects.filter(id__in=ids).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now, enqueued_at=now, failed_at=None
    )
    _enqueue_on_commit(ids)
    return ids


def webhook_delivery_replay(*, actor: User | None, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again (same ``webhook-id``, a fresh round of retries)."""
    _authorize(actor, delivery.organization_id, "change_webhooks")
    with transaction.atomic(durable=True):
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status == WebhookDelivery.Status.PENDING:
            raise Conflict("This delivery is still being attempted.")
        _requeue(WebhookDelivery.objects.filter(pk=locked.pk))
        record(
            action="webhook_delivery.replayed",
            resource_type="webhook_delivery",
            resource_id=locked.pk,
            organization=locked.organization_id,
            new_values={"endpoint_id": locked.endpoint_id, "event_type": locked.event_type},
            actor=actor,
        )
    locked.refresh_from_db()
    return locked


def webhook_deliveries_replay(
    *, actor: User | None, endpoint: WebhookEndpoint, created_after: datetime, created_before: datetime
) -> int:
    """Queue again the endpoint's dead letters created in [created_after, created_before); how many."""
    _authorize(actor, endpoint.organization_id, "change_webhooks")
    if created_after >= created_before:
        raise ValidationError(details={"to": ["Must be after 'from'."]})
    with transaction.atomic(durable=True):
        dead = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(
                endpoint=endpoint,
                status=WebhookDelivery.Status.FAILED,
                created_at__gte=created_after,
                created_at__lt=created_before,
            )
            .order_by("created_at")
        )
        count = dead.count()
        if count > settings.WEBHOOK_REPLAY_MAX:
            raise ValidationError(
                f"At most {settings.WEBHOOK_REPLAY_MAX} deliveries per replay; narrow the time range.",
                details={"count": count},
            )
        ids = _requeue(dead)
        record(
            action="webhook_endpoint.replayed",
            resource_type="webhook_endpoint",
            resource_id=endpoint.pk,
            organization=endpoint.organization_id,
            new_values={"from": created_after, "to": created_before, "deliveries": len(ids)},
            actor=actor,
        )
    return len(ids)


def webhook_attempts_prune(*, older_than_days: int | None = None) -> int:
    """Cleanup: attempts of delivered deliveries older than the retention; dead letters keep theirs."""
    days = older_than_days if older_than_days is not None else settings.WEBHOOK_ATTEMPT_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = WebhookAttempt.objects.filter(
        created_at__lt=cutoff, delivery__status=WebhookDelivery.Status.SUCCEEDED
    ).delete()
    return deleted
