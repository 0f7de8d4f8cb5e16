"""End to end with a real Celery worker process and the real broker."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from apps.core import events
from apps.core.models import OutboxEvent
from apps.core.tests.worker_main import HANDLED_KEY
from olympus.celery import app

BASE_DIR = Path(__file__).resolve().parents[3]


@pytest.fixture
def worker():
    """Start `celery worker` against this test database; stop it afterwards."""
    env = dict(os.environ)
    # The same server as this process, but the test database pytest-django created.
    url = urlsplit(settings.DATABASE_URL)
    env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))
    env["DJANGO_SETTINGS_MODULE"] = "olympus.settings.test"
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "apps.core.tests.worker_main"], cwd=BASE_DIR, env=env
    )
    app.conf.task_always_eager = False
    yield process
    app.conf.task_always_eager = True
    process.terminate()
    process.wait(timeout=30)
    connection.close()


def wait_for(predicate, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_handles_committed_events_and_never_rolled_back_ones(worker):
    # given: an event whose transaction rolls back, then one whose transaction commits
    with transaction.atomic():
        lost = events.publish_event(event_type="test.worker-ping", payload={"kept": False})
        transaction.set_rollback(True)
    with transaction.atomic():
        kept = events.publish_event(event_type="test.worker-ping", payload={"kept": True})

    # when: the worker process picks up the relay queued on commit
    handled = wait_for(lambda: cache.get(HANDLED_KEY.format(kept.id)) is not None)

    # then
    assert handled, "the worker never handled the committed event"
    assert cache.get(HANDLED_KEY.format(kept.id)) != os.getpid()  # handled in the worker, not here
    assert wait_for(lambda: OutboxEvent.objects.get(id=kept.id).status == OutboxEvent.Status.DISPATCHED, 10)
    assert cache.get(HANDLED_KEY.format(lost.id)) is None
    assert not OutboxEvent.objects.filter(id=lost.id).exists()
    assert worker.poll() is None  # still running: nothing crashed it
