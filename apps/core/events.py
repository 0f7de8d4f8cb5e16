"""The transactional outbox.

``publish_event`` writes an :class:`OutboxEvent` inside the caller's
transaction and asks for a relay once that transaction commits; a rolled-back
change therefore never announces itself. Handlers are registered per event
type (``@event_handler("order.created")``) in each app's ``events.py``. A beat
sweep re-dispatches events whose on-commit relay was lost (Redis or worker
down), so delivery is at least once: handlers must be idempotent.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.core import redis_writes, tracing
from apps.core.db import CompiledSelect
from apps.core.models import OutboxEvent
from apps.core.tasks import outbox_relay

logger = logging.getLogger("olympus.events")

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


WILDCARD = "*"


def event_handler(event_type: str) -> Callable[[Handler], Handler]:
    """Register ``func`` to run for every dispatched event of ``event_type`` (``"*"``: of every type)."""

    def register(func: Handler) -> Handler:
        if func not in _handlers[event_type]:
            _handlers[event_type].append(func)
        return func

    return register


def unregister_handler(event_type: str, func: Handler) -> None:
    if func in _handlers.get(event_type, []):
        _handlers[event_type].remove(func)


def handlers_for(event_type: str) -> list[Handler]:
    """The handlers of ``event_type`` in registration order, then the catch-all ``"*"`` ones."""
    specific = list(_handlers.get(event_type, []))
    return specific + [h for h in _handlers.get(WILDCARD, []) if h not in specific]


def publish_event(
    *, event_type: str, payload: dict[str, Any], organization_id: uuid.UUID | str | None = None
) -> OutboxEvent:
    """Record an event in the caller's transaction; relay it after commit."""
    event = OutboxEvent(event_type=event_type, payload=payload, organization_id=organization_id)
    event.save(force_insert=True)
    relay_after_commit(event)
    return event


def relay_after_commit(event: OutboxEvent) -> None:
    """Ask for a relay once the caller's transaction commits (for an event inserted another way)."""
    transaction.on_commit(lambda: _enqueue_relay(event.id))


# While a relay is queued and has not started, later commits ride on it instead of
# publishing another Celery message (a publish costs more than the rest of a small write).
RELAY_QUEUED_KEY = "outbox:relay-queued"
RELAY_QUEUED_TTL = 10  # a lost relay message delays events by this much at most (then the sweep)


def _enqueue_relay(event_id: uuid.UUID | None = None) -> None:
    """Set the queued flag (``cache.add``) and publish a relay when it was not set; with a batch's
    other Redis writes when a service batches them (``apps.core.redis_writes``)."""
    redis_writes.send(_RelayFlag(event_id))


class _RelayFlag:
    """``cache.add(RELAY_QUEUED_KEY, 1, timeout=RELAY_QUEUED_TTL)`` as a pipelined command, then the publish."""

    def __init__(self, event_id: uuid.UUID | None) -> None:
        self.event_id = event_id

    def queue(self, pipe: Any) -> None:
        # What django-redis sends for that add: the cache's key, an int stored as is, the timeout in ms.
        pipe.set(cache.make_and_validate_key(RELAY_QUEUED_KEY), 1, nx=True, px=RELAY_QUEUED_TTL * 1000)

    def done(self, results: list[Any]) -> None:
        (added,) = results
        if isinstance(added, Exception):
            self.failed(added)
            return
        if not added:  # a relay is queued already: this commit rides on it
            return
        try:
            outbox_relay.delay()
        except Exception as exc:
            self.failed(exc)

    def failed(self, exc: Exception) -> None:  # Redis or the broker down: the beat sweep picks the event up later
        logger.warning("could not enqueue outbox relay for %s; the sweep will retry", self.event_id, exc_info=exc)


def outbox_drain(*, limit: int = 500) -> int:
    """The relay: dispatch every due event. Clears the queued flag first, so an event
    committed after the query below has queued a relay of its own."""
    cache.delete(RELAY_QUEUED_KEY)
    dispatched = outbox_sweep(grace=timedelta(0), limit=limit)
    if dispatched >= limit:  # more may be waiting: keep draining
        _enqueue_relay()
    return dispatched


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped at one hour."""
    ceiling = min(3600, 2 ** min(attempts, 12) * 5)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not crypto


def outbox_dispatch(*, event_id: uuid.UUID | str) -> bool:
    """Run every handler of one pending event; True when it is dispatched.

    The row is locked (``SKIP LOCKED``) so a relay and a sweep never run one
    event at the same time. A failing handler rolls back its own writes, the
    attempt is counted and retried later; past ``OUTBOX_MAX_ATTEMPTS`` the
    event is parked as a dead letter (status ``failed``) for the admin.
    """
    # The span stays open until after the commit, so what the handlers queue on commit
    # (webhook deliveries) is in the event's trace too.
    with contextlib.ExitStack() as trace, transaction.atomic():
        event = _PENDING_LOCKED(event_id=event_id)
        if event is None:
            return False
        trace.enter_context(
            tracing.continued(event.trace_context, f"outbox {event.event_type}", **{"olympus.event_id": str(event.id)})
        )
        try:
            with transaction.atomic():
                for handler in handlers_for(event.event_type):
                    handler(event)
        except Exception as exc:
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if event.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                event.status = OutboxEvent.Status.FAILED
                logger.error("outbox event %s (%s) dead-lettered", event.id, event.event_type, exc_info=exc)
            else:
                event.next_attempt_at = timezone.now() + retry_delay(event.attempts)
                logger.warning("outbox event %s (%s) failed; will retry", event.id, event.event_type, exc_info=exc)
            event.save(update_fields=["attempts", "last_error", "status", "next_attempt_at", "updated_at"])
            return False
        event.status = OutboxEvent.Status.DISPATCHED
        event.dispatched_at = event.updated_at = timezone.now()
        event.attempts += 1
        with connection.cursor() as cursor:  # what save(update_fields=...) writes, without building the UPDATE
            values = [event.status, event.dispatched_at, event.attempts, event.updated_at, event.pk]
            cursor.execute(_DISPATCHED_SQL, values)
        return True


# Every event goes through these two statements: the locked read compiled once (apps/core/db.py), the
# dispatched mark a constant UPDATE. Building them each time cost about a third of dispatching an event.
_PENDING_LOCKED = CompiledSelect(
    lambda event_id: OutboxEvent.objects.select_for_update(skip_locked=True).filter(
        id=event_id, status=OutboxEvent.Status.PENDING
    ),
    "event_id",
)


def _dispatched_sql() -> str:
    quote = connection.ops.quote_name
    columns = {field.name: str(field.column) for field in OutboxEvent._meta.concrete_fields}
    written = ("status", "dispatched_at", "attempts", "updated_at")
    assignments = ", ".join(f"{quote(columns[name])} = %s" for name in written)
    return f"UPDATE {quote(OutboxEvent._meta.db_table)} SET {assignments} WHERE {quote(columns['id'])} = %s"  # noqa: S608


_DISPATCHED_SQL = _dispatched_sql()


def outbox_sweep(*, grace: timedelta = timedelta(seconds=10), limit: int = 500) -> int:
    """Dispatch pending events that are due and older than ``grace``; return how many succeeded."""
    now = timezone.now()
    due = OutboxEvent.objects.filter(
        status=OutboxEvent.Status.PENDING, next_attempt_at__lte=now, created_at__lte=now - grace
    ).order_by("next_attempt_at")
    ids = list(due.values_list("id", flat=True)[:limit])
    return sum(outbox_dispatch(event_id=event_id) for event_id in ids)


def outbox_replay(*, event_ids: list[uuid.UUID]) -> int:
    """Put dead-lettered (or stuck) events back in the queue; relay them after commit."""
    with transaction.atomic():
        events = OutboxEvent.objects.filter(id__in=event_ids).exclude(status=OutboxEvent.Status.DISPATCHED)
        ids = list(events.values_list("id", flat=True))
        events.update(status=OutboxEvent.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error="")
        for event_id in ids:
            transaction.on_commit(functools.partial(_enqueue_relay, event_id))
    return len(ids)
