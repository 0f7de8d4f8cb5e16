"""Celery signal receivers, connected in every process (web, worker, beat) by ``JobsConfig.ready``.

- around every task a worker runs, its database connections are kept unless they broke or outlived
  ``CONN_MAX_AGE`` (Django's rule around a request; ``CELERY_DB_REUSE_MAX`` keeps Celery from closing them);
- every task run is counted by final state and timed (``metrics``);
- a task that fails for good (no retry left: ``task_failure`` fires only
  then; a retry sends ``task_retry`` instead) becomes a :class:`FailedTask`
  dead letter, replayable from the admin. A task opts out with
  ``dead_letter = False`` on its class (e.g. a task that keeps its own dead
  letters, like the outbox relay's events).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import signals
from django.core.cache import cache
from django.db import close_old_connections

from apps.jobs import metrics, services

logger = logging.getLogger("olympus.jobs")

_started: dict[str, float] = {}
FIRST_FAILURE_KEY = "jobs:first-failure:{}"


@signals.task_prerun.connect(weak=False)
@signals.task_postrun.connect(weak=False)
def _recycle_database_connections(sender: Any = None, **kwargs: Any) -> None:
    """Before and after a task in a worker: close a connection that broke or outlived ``CONN_MAX_AGE``, keep a
    healthy one (checked before its next use: ``CONN_HEALTH_CHECKS``). Not for an eager task: it runs inside its
    caller, whose transaction may be open."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()


@signals.task_prerun.connect(weak=False)
def _on_prerun(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@signals.task_postrun.connect(weak=False)
def _on_postrun(sender: Any = None, task_id: str | None = None, state: str | None = None, **kwargs: Any) -> None:
    started = _started.pop(task_id or "", None)
    if sender is None or state is None:
        return
    final = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}.get(state)
    if final is None:
        return
    seconds = time.perf_counter() - started if started is not None else None
    metrics.task_finished(task=sender.name, state=final, seconds=seconds)


@signals.task_retry.connect(weak=False)
def _on_retry(request: Any = None, **kwargs: Any) -> None:
    # Remember when the task first failed: the dead letter reports first and last failure.
    task_id = getattr(request, "id", None)
    if task_id:
        try:
            cache.add(FIRST_FAILURE_KEY.format(task_id), time.time(), timeout=7 * 24 * 3600)
        except Exception:
            logger.debug("could not remember the first failure of %s", task_id, exc_info=True)


@signals.task_failure.connect(weak=False)
def _on_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    einfo: Any = None,
    **extra: Any,
) -> None:
    if sender is None or not getattr(sender, "dead_letter", True):
        return
    request = getattr(sender, "request", None)
    first = None
    try:
        first = cache.get(FIRST_FAILURE_KEY.format(task_id))
    except Exception:
        logger.debug("first failure of %s unknown", task_id, exc_info=True)
    delivery_info = getattr(request, "delivery_info", None) or {}
    services.failed_task_record(
        task_id=task_id or "",
        task_name=sender.name,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        exception=exception,
        traceback=str(einfo.traceback) if einfo is not None else "",
        attempts=(getattr(request, "retries", 0) or 0) + 1,
        queue=str(delivery_info.get("routing_key") or ""),
        first_failed_at=first,
    )
