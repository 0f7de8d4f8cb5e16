"""Dead letters of Celery tasks: recording them and sending them again."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from apps.jobs.models import FailedTask

logger = logging.getLogger("olympus.jobs")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=repr))


def failed_task_record(
    *,
    task_id: str,
    task_name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    exception: BaseException | None,
    traceback: str = "",
    attempts: int = 1,
    queue: str = "",
    first_failed_at: float | None = None,
) -> FailedTask | None:
    """Upsert the dead letter of a task that failed for good; never raises (a signal receiver calls it)."""
    now = timezone.now()
    first = datetime.fromtimestamp(first_failed_at, tz=UTC) if first_failed_at else now
    try:
        with transaction.atomic():
            failed, created = FailedTask.objects.select_for_update().get_or_create(
                task_id=task_id or str(uuid.uuid4()),
                defaults={
                    "task_name": task_name,
                    "queue": queue,
                    "args": _jsonable(args),
                    "kwargs": _jsonable(kwargs),
                    "exception": f"{type(exception).__name__}: {exception}"[:5000] if exception else "",
                    "traceback": traceback[:20000],
                    "attempts": attempts,
                    "first_failed_at": first,
                    "last_failed_at": now,
                },
            )
            if not created:
                failed.attempts = max(failed.attempts + 1, attempts)
                failed.last_failed_at = now
                failed.status = FailedTask.Status.FAILED
                failed.exception = f"{type(exception).__name__}: {exception}"[:5000] if exception else ""
                failed.traceback = traceback[:20000]
                failed.save(
                    update_fields=["attempts", "last_failed_at", "status", "exception", "traceback", "updated_at"]
                )
    except Exception:
        logger.exception("could not record the dead letter of task %s (%s)", task_name, task_id)
        return None
    logger.error("task %s [%s] failed for good after %d attempt(s)", task_name, task_id, failed.attempts)
    return failed


def failed_task_retry(*, failed_task_ids: list[uuid.UUID]) -> int:
    """Send dead-lettered tasks again (same name, arguments and routing) after commit; how many."""
    from olympus.celery import app

    with transaction.atomic(durable=True):
        rows = list(
            FailedTask.objects.select_for_update(skip_locked=True).filter(
                id__in=failed_task_ids, status=FailedTask.Status.FAILED
            )
        )
        now = timezone.now()
        for failed in rows:
            failed.status = FailedTask.Status.RETRIED
            failed.retried_at = now
            failed.retried_task_id = str(uuid.uuid4())
            failed.save(update_fields=["status", "retried_at", "retried_task_id", "updated_at"])

            def send(failed: FailedTask = failed) -> None:
                options = {"args": failed.args, "kwargs": failed.kwargs, "task_id": failed.retried_task_id}
                task = app.tasks.get(failed.task_name)
                # A task known here goes through apply_async (routing, eager mode in tests); others by name.
                if task is not None:
                    task.apply_async(**options)
                else:
                    app.send_task(failed.task_name, **options)

            transaction.on_commit(send)
    return len(rows)
