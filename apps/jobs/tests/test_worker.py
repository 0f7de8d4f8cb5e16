"""acks_late + reject_on_worker_lost with real worker processes: a job killed mid-run runs again and completes once."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache

from apps.jobs.tests import worker_tasks
from olympus.celery import app

BASE_DIR = Path(__file__).resolve().parents[3]


def wait_for(predicate, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def start_worker():
    """``start_worker(pool, queue, visibility_timeout)`` runs a worker process; all are stopped afterwards."""
    processes: list[subprocess.Popen] = []

    def start(*, pool: str, queue: str, visibility_timeout: int = 3600) -> subprocess.Popen:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="olympus.settings.test",
            JOBS_TEST_POOL=pool,
            JOBS_TEST_QUEUE=queue,
            CELERY_VISIBILITY_TIMEOUT=str(visibility_timeout),
        )
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "apps.jobs.tests.worker_main"], cwd=BASE_DIR, env=env, start_new_session=True
        )
        processes.append(process)
        return process

    app.conf.task_always_eager = False
    yield start
    app.conf.task_always_eager = True
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def send(key: str, queue: str):
    return worker_tasks.killable_job.apply_async(args=[key], queue=queue)


def completions(key: str) -> int:
    return cache.get(worker_tasks.COMPLETIONS.format(key)) or 0


def started(key: str) -> int:
    return cache.get(worker_tasks.STARTED.format(key)) or 0


@pytest.mark.worker
def test_job_whose_pool_process_is_killed_is_requeued_and_completes_once(start_worker):
    # given: a prefork worker running the job in its one child process
    key, queue = uuid.uuid4().hex, f"jobs-test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(pool="prefork", queue=queue)
    send(key, queue)
    assert wait_for(lambda: started(key) == 1), "the job never started"
    child = cache.get(worker_tasks.PID.format(key, 1))
    assert child != worker.pid
    # when: the child dies mid-run (OOM killer, segfault)
    os.kill(child, signal.SIGKILL)
    # then: the message was rejected back to the queue, ran again and completed once
    assert wait_for(lambda: completions(key) == 1), "the job never completed after its process was killed"
    time.sleep(1)
    assert started(key) == 2
    assert completions(key) == 1
    assert worker.poll() is None


@pytest.mark.worker
def test_job_whose_worker_is_killed_is_redelivered_after_the_visibility_timeout(start_worker):
    # given: a worker (short visibility timeout) running the job
    key, queue = uuid.uuid4().hex, f"jobs-test-{uuid.uuid4().hex[:8]}"
    first = start_worker(pool="solo", queue=queue, visibility_timeout=2)
    send(key, queue)
    assert wait_for(lambda: started(key) == 1), "the job never started"
    # when: the whole worker is killed without acknowledging the message
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    start_worker(pool="solo", queue=queue, visibility_timeout=2)
    # then: Redis hands the unacknowledged message out again; it runs again and completes once
    assert wait_for(lambda: started(key) == 2, timeout=60), "the job was never redelivered"
    redelivered_after = time.monotonic() - killed_at
    assert wait_for(lambda: completions(key) == 1, timeout=60), "the redelivered job never completed"
    assert started(key) == 2
    assert completions(key) == 1
    # within the visibility timeout plus kombu's scan interval (1 s here) and a new worker's start
    # on a busy machine: seconds, where the former settings took up to an hour and a half
    assert redelivered_after < 2 + 1 + 30, redelivered_after
