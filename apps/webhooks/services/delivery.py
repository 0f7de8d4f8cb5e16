"""One delivery attempt, in three steps: claim the due delivery (short transaction, a lease in
``next_attempt_at``), send the request with no transaction open (up to the timeout), record the outcome
(short transaction). A worker that dies mid-send leaves the lease to expire and the sweep retries.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core import tracing
from apps.jobs import metrics
from apps.webhooks import signing, transport
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.webhooks.services._common import PING, _body
from apps.webhooks.services.endpoints import _disable

logger = logging.getLogger("olympus.webhooks")


@dataclass
class AttemptResult:
    delivery_id: uuid.UUID
    outcome: str  # "succeeded" | "retry" | "failed" (dead letter) | "gone" (410: endpoint disabled)
    status_code: int | None = None
    next_attempt_at: datetime | None = None


def retry_delay(*, attempt: int, retry_after: float | None = None) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1-based): the schedule with jitter, or Retry-After if longer."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    base = schedule[min(attempt, len(schedule)) - 1]
    jitter = settings.WEBHOOK_RETRY_JITTER
    seconds = base * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - jitter, not crypto
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    return timedelta(seconds=seconds)


INTERRUPTED_ERROR = "Interrupted: the sender stopped before the receiver's answer was recorded."


def _claim(delivery_id: uuid.UUID | str) -> tuple[WebhookDelivery, WebhookAttempt] | None:
    """Lock a due pending delivery, count the attempt, lease it and open its attempt row
    (``sending``) before any request goes out; None if not due or taken.

    An attempt of this delivery still ``sending`` was cut off by a crash (its lease ran out):
    it is closed as ``interrupted``.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(id=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        WebhookAttempt.objects.filter(delivery=delivery, state=WebhookAttempt.State.SENDING).update(
            state=WebhookAttempt.State.INTERRUPTED, finished_at=now, error=INTERRUPTED_ERROR
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_SEND_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at", "updated_at"])
        attempt = WebhookAttempt.objects.create(
            delivery=delivery, created_at=now, url=delivery.endpoint.url, state=WebhookAttempt.State.SENDING
        )
    return delivery, attempt


def webhook_delivery_attempt(*, delivery_id: uuid.UUID | str) -> AttemptResult | None:
    """Make the next attempt of a due delivery; None when it is not due (already sent, leased, replayed)."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    delivery, attempt = claimed
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event_type != PING:
        return _record(delivery, attempt, response=None, error="The endpoint is disabled.", latency_ms=0, final=True)
    body = _body(delivery.payload)
    headers = signing.signature_headers(
        secrets_=endpoint.signing_secrets(), message_id=str(delivery.pk), timestamp=int(time.time()), body=body
    )
    headers.update(tracing.carrier())  # traceparent: the receiver can join the trace (issue 17)
    started = time.perf_counter()
    response: transport.Response | None = None
    try:
        response = transport.post(url=endpoint.url, body=body, headers=headers)
        error = ""
    except transport.Refused as exc:
        error = f"Refused: {exc}"
    except transport.SendError as exc:
        error = str(exc)
    latency_ms = response.latency_ms if response else int((time.perf_counter() - started) * 1000)
    return _record(delivery, attempt, response=response, error=error, latency_ms=latency_ms)


def _record(
    delivery: WebhookDelivery,
    attempt: WebhookAttempt,
    *,
    response: transport.Response | None,
    error: str,
    latency_ms: int,
    final: bool = False,
) -> AttemptResult:
    now = timezone.now()
    status_code = response.status_code if response else None
    succeeded = bool(response and response.ok)
    with transaction.atomic():
        # Locked for the write; gone if its endpoint was deleted while the request was out.
        if not WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).exists():
            return AttemptResult(delivery.pk, "deleted", status_code)
        # Close the attempt the claim opened before the request went out.
        WebhookAttempt.objects.filter(pk=attempt.pk).update(
            state=WebhookAttempt.State.FINISHED,
            finished_at=now,
            status_code=status_code,
            latency_ms=latency_ms,
            response_body=response.body if response else "",
            error=error[:1000],
            succeeded=succeeded,
        )
        delivery.last_status_code = status_code
        delivery.last_error = (error or ("" if succeeded else f"HTTP {status_code}"))[:1000]
        fields = ["last_status_code", "last_error", "status", "next_attempt_at", "updated_at"]
        if succeeded:
            outcome = "succeeded"
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = delivery.Status.SUCCEEDED, now, None
            fields.append("delivered_at")
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, consecutive_failures__gt=0).update(
                consecutive_failures=0
            )
        elif status_code == 410 or final or delivery.attempts > len(settings.WEBHOOK_RETRY_SCHEDULE):
            delivery.status, delivery.failed_at, delivery.next_attempt_at = delivery.Status.FAILED, now, None
            fields.append("failed_at")
            outcome = "gone" if status_code == 410 else "failed"
            if status_code == 410 or (not final and delivery.event_type != PING):
                _count_dead_letter(delivery.endpoint_id, gone=status_code == 410)
        else:
            outcome = "retry"
            retry_after = response.retry_after_seconds() if response else None
            delivery.next_attempt_at = now + retry_delay(attempt=delivery.attempts, retry_after=retry_after)
        delivery.save(update_fields=fields)
    metrics.webhook_delivery(outcome=outcome, seconds=latency_ms / 1000)
    log = logger.debug if succeeded else logger.warning
    log(
        "webhook delivery %s attempt %s to %s: %s (%s)",
        delivery.pk,
        delivery.attempts,
        delivery.endpoint_id,
        outcome,
        status_code or error,
    )
    return AttemptResult(delivery.pk, outcome, status_code, delivery.next_attempt_at)


def _count_dead_letter(endpoint_id: uuid.UUID, *, gone: bool) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if gone:
        if endpoint.is_active:
            _disable(endpoint, reason="The receiver answered 410 Gone.")
        return
    endpoint.consecutive_failures = F("consecutive_failures") + 1
    endpoint.save(update_fields=["consecutive_failures", "updated_at"])
    endpoint.refresh_from_db(fields=["consecutive_failures"])
    limit = settings.WEBHOOK_DISABLE_AFTER_DEAD_LETTERS
    if endpoint.is_active and endpoint.consecutive_failures >= limit:
        _disable(endpoint, reason=f"{endpoint.consecutive_failures} deliveries in a row failed every attempt.")
