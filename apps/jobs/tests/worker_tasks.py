"""Tasks for the real-worker tests: a job that can be killed mid-run and must still complete exactly once."""

import os
import time

from celery import shared_task
from django.core.cache import cache

STARTED = "jobs-test:{}:started"
PID = "jobs-test:{}:pid:{}"
DONE = "jobs-test:{}:done"
COMPLETIONS = "jobs-test:{}:completions"


@shared_task(acks_late=True, reject_on_worker_lost=True, name="apps.jobs.tests.worker_tasks.killable_job")
def killable_job(key: str, hold_seconds: float = 30.0) -> str:
    """The first run holds until it is killed; a later run completes. Completion is idempotent (set-if-absent)."""
    run = cache.incr(STARTED.format(key)) if cache.add(STARTED.format(key), 1, 600) is False else 1
    cache.set(PID.format(key, run), os.getpid(), 600)
    if run == 1:
        time.sleep(hold_seconds)
    # Idempotent completion: only the first finisher counts, however often the task runs.
    if cache.add(DONE.format(key), os.getpid(), 600):
        cache.incr(COMPLETIONS.format(key)) if not cache.add(COMPLETIONS.format(key), 1, 600) else None
    return "done"
