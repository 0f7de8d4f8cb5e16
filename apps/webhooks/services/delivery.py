"""Delivery attempts, in three steps: claim the due delivery (short transaction: a lease in ``next_attempt_at``,
the attempt counted and its row written as ``sending``), send the request with no transaction open (up to the
timeout), record the outcome (short transaction: the row ``finished``). A worker that dies mid-send leaves the
lease to expire and the sweep retries; the cut-off attempt then shows as ``interrupted``.

Fan-out deliveries go by endpoint (:func:`webhook_deliveries_send`): one statement leases up to
``WEBHOOK_BATCH_SIZE`` due deliveries of the endpoint, oldest first, which are then sent in that order over one
kept-alive connection, each attempt counted and written just before its own request. The sweep, replays and
pings attempt one delivery (:func:`webhook_delivery_attempt`).

The batch is the hot path (every fan-out delivery goes through it): its statements are raw SQL written here,
each one round trip, and it builds no model per delivery beyond the leased row itself.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core import tracing
from apps.core.db import Statement
from apps.jobs import metrics
from apps.webhooks import signing, transport
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.webhooks.services._common import PING, _body, _enqueue_endpoints, batch_queued_key
from apps.webhooks.services.endpoints import _disable

logger = logging.getLogger("olympus.webhooks")


# A batch's attempts for the metrics: (outcome, seconds).
Observed = list[tuple[str, float]]


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


def _claim(delivery_id: uuid.UUID | str) -> tuple[WebhookDelivery, int] | None:
    """Lock a due pending delivery, lease it, count the attempt and open its attempt row (``sending``) before
    any request goes out, in one transaction; the delivery and its attempt's id, None if not due or taken."""
    with transaction.atomic():
        leased = _lease(delivery_id=delivery_id, limit=1)
        if not leased:
            return None
        attempt = _open(leased[0])
    if attempt is None:
        return None
    return leased[0], attempt


def _lease(
    *, endpoint_id: uuid.UUID | str | None = None, delivery_id: uuid.UUID | str | None = None, limit: int
) -> list[WebhookDelivery]:
    """Lock up to ``limit`` due pending deliveries of an endpoint (or the one delivery), oldest first, skipping
    locked ones, and lease them (``next_attempt_at`` moves ``WEBHOOK_SEND_LEASE_SECONDS`` ahead), in one statement.

    An attempt of these deliveries still ``sending`` was cut off by a crash (its lease ran out):
    it is closed as ``interrupted``. The deliveries come with their endpoint (one instance for all of them).
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_SEND_LEASE_SECONDS)
    parameters: dict[str, Any] = {
        "now": now,
        "lease": lease,
        "limit": limit,
        "error": INTERRUPTED_ERROR,
        "endpoint": endpoint_id,
        "id": delivery_id,
    }
    with connection.cursor() as cursor:
        (LEASE_BY_ENDPOINT if delivery_id is None else LEASE_ONE).execute(cursor, parameters)
        rows = cursor.fetchall()
    endpoints: dict[uuid.UUID, WebhookEndpoint] = {}
    deliveries = []
    for row in rows:
        delivery = WebhookDelivery.from_db(connection.alias, _LEASED_FIELDS, row[: len(_LEASED_FIELDS)])
        delivery.payload = json.loads(delivery.payload)  # jsonb comes as text: JSONField decodes it, not psycopg
        if delivery.endpoint_id not in endpoints:
            endpoints[delivery.endpoint_id] = WebhookEndpoint.from_db(
                connection.alias, _ENDPOINT_FIELDS, row[len(_LEASED_FIELDS) :]
            )
        delivery.endpoint = endpoints[delivery.endpoint_id]
        deliveries.append(delivery)
    return deliveries


def _open(delivery: WebhookDelivery) -> int | None:
    """Right before the request of a leased delivery: count the attempt and write its row (``sending``), in one
    statement (one round trip, atomic on its own); the attempt's id, or None if the delivery is gone (its endpoint
    deleted meanwhile) or its lease is no longer this worker's."""
    now = timezone.now()
    with connection.cursor() as cursor:
        OPEN.execute(
            cursor, {"id": delivery.pk, "now": now, "url": delivery.endpoint.url, "lease": delivery.next_attempt_at}
        )
        row = cursor.fetchone()
    return _opened(delivery, row, now)


def _opened(delivery: WebhookDelivery, row: tuple[Any, ...] | None, now: datetime) -> int | None:
    """The attempt row an open statement wrote (its id and the delivery's attempt count): its id, or None."""
    if row is None or row[0] is None:
        return None
    delivery.attempts = row[1]
    delivery.last_attempt_at = delivery.updated_at = now
    return int(row[0])


_DELIVERY = WebhookDelivery._meta.db_table
_ATTEMPT = WebhookAttempt._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table

# What a send needs of a leased delivery and of its endpoint, in the models' field order (``from_db`` wants it).
_LEASED_FIELDS = [
    f.attname
    for f in WebhookDelivery._meta.concrete_fields
    if f.attname
    in {"id", "created_at", "updated_at", "organization_id", "endpoint_id", "event_id", "event_type", "payload"}
    | {"status", "attempts", "next_attempt_at"}
]
_ENDPOINT_FIELDS = [
    f.attname
    for f in WebhookEndpoint._meta.concrete_fields
    if f.attname
    in {"id", "organization_id", "url", "secret", "previous_secret", "previous_secret_expires_at", "is_active"}
]


def _lease_sql(where: str) -> str:
    """Lock the due pending deliveries ``where`` says (oldest first, skipping locked ones, up to ``%(limit)s``),
    close their cut-off ``sending`` attempts, lease them; the leased rows with their endpoint's columns."""
    leased = ", ".join(f"leased.{name}" for name in _LEASED_FIELDS)
    endpoint = ", ".join(f"endpoint.{name}" for name in _ENDPOINT_FIELDS)
    return f"""WITH due AS (
    SELECT id FROM {_DELIVERY}
    WHERE {where} AND status = 'pending' AND next_attempt_at <= %(now)s
    ORDER BY created_at, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), interrupted AS (
    UPDATE {_ATTEMPT} SET state = 'interrupted', finished_at = %(now)s, error = %(error)s
    WHERE delivery_id IN (SELECT id FROM due) AND state = 'sending'
), leased AS (
    UPDATE {_DELIVERY} AS delivery SET next_attempt_at = %(lease)s, updated_at = %(now)s
    FROM due WHERE delivery.id = due.id
    RETURNING delivery.*
)
SELECT {leased}, {endpoint}
FROM leased JOIN {_ENDPOINT} AS endpoint ON endpoint.id = leased.endpoint_id
ORDER BY leased.created_at, leased.id"""  # noqa: S608 - names from the models, values are parameters


LEASE_BY_ENDPOINT = Statement("webhook_lease_batch", _lease_sql("endpoint_id = %(endpoint)s"))
LEASE_ONE = Statement("webhook_lease_one", _lease_sql("id = %(id)s"))


def _open_ctes(prefix: str = "") -> str:
    """Count the attempt of delivery ``%(<prefix>id)s`` (if still leased to us) and write its row (``sending``)."""
    return f"""counted AS (
    UPDATE {_DELIVERY} SET attempts = attempts + 1, last_attempt_at = %(now)s, updated_at = %(now)s
    WHERE id = %({prefix}id)s AND status = 'pending' AND next_attempt_at = %({prefix}lease)s
    RETURNING id, attempts
), opened AS (
    INSERT INTO {_ATTEMPT}
        (state, finished_at, delivery_id, created_at, url, status_code, latency_ms, response_body, error, succeeded)
    SELECT 'sending', NULL, id, %(now)s, %({prefix}url)s::text, NULL, 0, '', '', false FROM counted
    RETURNING id
)"""  # noqa: S608 - table names from the models, values are parameters


# Count the attempt and write its row: the attempt's id and the delivery's attempt count, or no row.
OPEN = Statement(
    "webhook_open",
    f"WITH {_open_ctes()} SELECT opened.id, counted.attempts FROM opened, counted",  # noqa: S608
)
# A delivered attempt: the delivery, its attempt row and the endpoint's failure streak, in one statement.
_DELIVERED_CTES = f"""delivered AS (
    UPDATE {_DELIVERY} SET status = 'succeeded', delivered_at = %(now)s, next_attempt_at = NULL,
        last_status_code = %(status_code)s, last_error = '', updated_at = %(now)s
    WHERE id = %(id)s
    RETURNING endpoint_id
), finished AS (
    UPDATE {_ATTEMPT} SET state = 'finished', finished_at = %(now)s, status_code = %(status_code)s,
        latency_ms = %(latency_ms)s, response_body = %(body)s, error = '', succeeded = true
    WHERE id = %(attempt)s AND EXISTS (SELECT FROM delivered)
), streak AS (
    UPDATE {_ENDPOINT} SET consecutive_failures = 0
    WHERE id IN (SELECT endpoint_id FROM delivered) AND consecutive_failures > 0
)"""  # noqa: S608 - table names from the models, values are parameters
# Their commits do not wait for the disk (``flush_wait=False``): deliveries are at least once. A record lost to a
# crash of PostgreSQL itself leaves the delivery leased, so it is sent again with the same ``webhook-id``, as after
# a worker that died mid-request; waiting for the flush cost each delivery about 0.8 ms here.
DELIVERED = Statement(
    "webhook_delivered",
    f"WITH {_DELIVERED_CTES} SELECT count(*), NULL, NULL FROM delivered",  # noqa: S608
    flush_wait=False,
)
# The same, and the batch's next attempt opened in the same statement (one round trip and one commit less per
# delivery): the count delivered, then the next attempt's id and its delivery's attempt count (NULL if not opened).
DELIVERED_AND_OPEN_NEXT = Statement(
    "webhook_delivered_open_next",
    f"""WITH {_DELIVERED_CTES}, {_open_ctes("next_")}
SELECT (SELECT count(*) FROM delivered), (SELECT id FROM opened), (SELECT attempts FROM counted)""",  # noqa: S608
    flush_wait=False,
)


def _release(deliveries: list[WebhookDelivery]) -> None:
    """The leased deliveries a batch did not send are due again now (no attempt was counted for them)."""
    WebhookDelivery.objects.filter(
        pk__in=[delivery.pk for delivery in deliveries], status=WebhookDelivery.Status.PENDING
    ).update(next_attempt_at=timezone.now())


def request_headers(delivery: WebhookDelivery, endpoint: WebhookEndpoint, body: bytes) -> dict[str, str]:
    """The headers a delivery's request carries besides Host, Content-Type and User-Agent (the transport's)."""
    headers = signing.signature_headers(
        secrets_=endpoint.signing_secrets(), message_id=str(delivery.pk), timestamp=int(time.time()), body=body
    )
    headers.update(tracing.carrier())  # traceparent: the receiver can join the trace (issue 17)
    return headers


def webhook_delivery_attempt(*, delivery_id: uuid.UUID | str) -> AttemptResult | None:
    """Make the next attempt of a due delivery; None when it is not due (already sent, leased, replayed)."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    return _send(*claimed)[0]


def webhook_deliveries_send(*, endpoint_id: uuid.UUID | str, limit: int | None = None) -> list[AttemptResult]:
    """Send the due deliveries of one endpoint: lease up to ``limit`` (``WEBHOOK_BATCH_SIZE``) oldest first in one
    statement, then send them in that order over one kept-alive connection, each with its attempt row written
    (``sending``) before its request and closed after it, as a single attempt does.

    The batch stops early when a request got no answer (timeout, refused, reset) or the endpoint answered 410, or
    when half the lease has gone by: the deliveries not sent are due again at once (no attempt counted) and
    another batch is queued for them, as it is when the batch was full. The endpoint's queued flag is cleared
    first, so a delivery committed after the lease queues a batch of its own.
    """
    limit = limit or settings.WEBHOOK_BATCH_SIZE
    try:
        cache.delete(batch_queued_key(endpoint_id))
    except Exception:  # Redis down: the flag expires on its own
        logger.warning("could not clear the batch flag of endpoint %s", endpoint_id, exc_info=True)
    leased = _lease(endpoint_id=endpoint_id, limit=limit)
    deadline = time.monotonic() + settings.WEBHOOK_SEND_LEASE_SECONDS / 2
    results: list[AttemptResult] = []
    observed: Observed = []
    stop = False
    opened: int | None = None  # this delivery's attempt, opened by the previous one's outcome
    try:
        for index, delivery in enumerate(leased):
            if index and opened is None and (stop or time.monotonic() > deadline):
                _release(leased[index:])
                _enqueue_endpoints([endpoint_id])
                break
            attempt = opened or _open(delivery)
            # Still within the lease: the outcome's statement opens the next attempt too (if it is a success).
            following = leased[index + 1] if index + 1 < len(leased) and time.monotonic() <= deadline else None
            opened = None
            if attempt is not None:
                result, stop, opened = _send(delivery, attempt, observed, following)
                results.append(result)
        else:
            if len(leased) >= limit:  # more may be due: the next batch
                _enqueue_endpoints([endpoint_id])
    finally:
        metrics.webhook_deliveries(observed)  # one Redis round trip per batch, not one per delivery
    return results


def _send(
    delivery: WebhookDelivery,
    attempt: int,
    observed: Observed | None = None,
    following: WebhookDelivery | None = None,
) -> tuple[AttemptResult, bool, int | None]:
    """Send one claimed delivery (``attempt``: the id of its open attempt row) and record the outcome; also whether
    a batch should stop here, and the attempt of ``following`` (the batch's next delivery) when a success opened it
    in the same statement.

    ``observed``: a batch's list of (outcome, seconds) for the metrics, recorded once at its end.
    """
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event_type != PING:
        result = _record(
            delivery,
            attempt,
            response=None,
            error="The endpoint is disabled.",
            latency_ms=0,
            final=True,
            observed=observed,
        )
        return result, False, None
    body = _body(delivery.payload)
    headers = request_headers(delivery, endpoint, body)
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
    if response is not None and response.ok:
        result, opened = _record_delivered(
            delivery,
            attempt,
            response=response,
            latency_ms=latency_ms,
            now=timezone.now(),
            observed=observed,
            following=following,
        )
        return result, False, opened
    result = _record(delivery, attempt, response=response, error=error, latency_ms=latency_ms, observed=observed)
    return result, response is None or result.outcome == "gone", None


def _record(
    delivery: WebhookDelivery,
    attempt: int,
    *,
    response: transport.Response | None,
    error: str,
    latency_ms: int,
    final: bool = False,
    observed: Observed | None = None,
) -> AttemptResult:
    """An attempt that did not deliver (no answer, an error status, a disabled endpoint): a retry or the end."""
    now = timezone.now()
    status_code = response.status_code if response else None
    with transaction.atomic():
        # Locked for the write; gone if its endpoint was deleted while the request was out.
        if not WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).exists():
            return AttemptResult(delivery.pk, "deleted", status_code)
        # Close the attempt the claim opened before the request went out.
        WebhookAttempt.objects.filter(pk=attempt).update(
            state=WebhookAttempt.State.FINISHED,
            finished_at=now,
            status_code=status_code,
            latency_ms=latency_ms,
            response_body=response.body if response else "",
            error=error[:1000],
            succeeded=False,
        )
        delivery.last_status_code = status_code
        delivery.last_error = (error or f"HTTP {status_code}")[:1000]
        fields = ["last_status_code", "last_error", "status", "next_attempt_at", "updated_at"]
        if status_code == 410 or final or delivery.attempts > len(settings.WEBHOOK_RETRY_SCHEDULE):
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
    _observe(observed, outcome, latency_ms)
    logger.warning(
        "webhook delivery %s attempt %s to %s: %s (%s)",
        delivery.pk,
        delivery.attempts,
        delivery.endpoint_id,
        outcome,
        status_code or error,
    )
    return AttemptResult(delivery.pk, outcome, status_code, delivery.next_attempt_at)


def _record_delivered(
    delivery: WebhookDelivery,
    attempt: int,
    *,
    response: transport.Response,
    latency_ms: int,
    now: datetime,
    observed: Observed | None = None,
    following: WebhookDelivery | None = None,
) -> tuple[AttemptResult, int | None]:
    """The common outcome in one statement: delivered, the attempt closed, the failure streak reset; and, given
    the batch's ``following`` delivery, its attempt opened (its id returned; None if it was not)."""
    parameters: dict[str, Any] = {
        "id": delivery.pk,
        "attempt": attempt,
        "now": now,
        "status_code": response.status_code,
        "latency_ms": latency_ms,
        "body": response.body,
    }
    if following is not None:
        parameters.update(next_id=following.pk, next_lease=following.next_attempt_at, next_url=following.endpoint.url)
    with connection.cursor() as cursor:
        (DELIVERED if following is None else DELIVERED_AND_OPEN_NEXT).execute(cursor, parameters)
        found, *next_row = cursor.fetchone() or (0, None, None)
    opened = _opened(following, tuple(next_row), now) if following is not None else None
    if not found:  # its endpoint was deleted while the request was out
        return AttemptResult(delivery.pk, "deleted", response.status_code), opened
    delivery.status, delivery.delivered_at, delivery.next_attempt_at = delivery.Status.SUCCEEDED, now, None
    delivery.last_status_code, delivery.last_error = response.status_code, ""
    _observe(observed, "succeeded", latency_ms)
    logger.debug(
        "webhook delivery %s attempt %s to %s: succeeded (%s)",
        delivery.pk,
        delivery.attempts,
        delivery.endpoint_id,
        response.status_code,
    )
    return AttemptResult(delivery.pk, "succeeded", response.status_code, None), opened


def _observe(observed: Observed | None, outcome: str, latency_ms: int) -> None:
    """Count the attempt in the metrics now, or in the batch's list (recorded once when the batch ends)."""
    if observed is None:
        metrics.webhook_delivery(outcome=outcome, seconds=latency_ms / 1000)
    else:
        observed.append((outcome, latency_ms / 1000))


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
