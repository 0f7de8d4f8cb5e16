"""Issue 17: RabbitMQ as the broker (``CELERY_BROKER_URL=amqp://...``). A real worker and a real beat
run against the RabbitMQ on 127.0.0.1:5672 (guest/guest) when one answers, and are skipped otherwise:
beat publishes the outbox sweep there, the worker takes it and dispatches a pending event.
Both log JSON lines with the service fields, as the web does."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.core.models import OutboxEvent

BASE_DIR = Path(__file__).resolve().parents[3]
RABBITMQ = ("127.0.0.1", 5672)
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(RABBITMQ, timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not rabbitmq_reachable(), reason="no RabbitMQ answers on 127.0.0.1:5672"),
]


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def start(tmp_path):
    """``start("worker" | "beat")``: a process on RabbitMQ and this test database; its stderr is kept."""
    processes: list[subprocess.Popen] = []
    env = dict(os.environ)
    url = urlsplit(settings.DATABASE_URL)
    env.update(
        DATABASE_URL=urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}")),
        DJANGO_SETTINGS_MODULE="olympus.settings.test",
        TEST_CELERY_BROKER_URL=BROKER_URL,
        RABBITMQ_TEST_QUEUE=f"olympus-test-{uuid.uuid4().hex[:8]}",
        RABBITMQ_TEST_DIR=str(tmp_path),
        OUTBOX_SWEEP_SECONDS="1",
        # this process's version: a commit made while the suite runs must not change the child's
        SERVICE_VERSION=settings.SERVICE_VERSION,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )

    def run(kind: str) -> Path:
        log = tmp_path / f"{kind}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "apps.core.tests.rabbitmq_main", kind],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        processes.append(process)
        return log

    yield run
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    connection.close()


def json_lines(log: Path) -> list[dict]:
    """Every line of the log, parsed; all must be JSON. Running as root, Celery warns about it on
    stderr before any logging is set up (the image runs as an unprivileged user): that block is dropped."""
    text = log.read_text()
    if "SecurityWarning: You're running the worker with superuser privileges" in text:
        head, _, rest = text.partition("SecurityWarning")
        head = head.rpartition("\n")[0]
        text = head + "\n" + rest.partition("_warn_or_raise_security_error(")[2].partition("\n")[2]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_worker_and_beat_run_on_rabbitmq(start):
    # given: an event whose on-commit relay was lost; only beat's sweep will find it
    event = OutboxEvent.objects.create(event_type="test.rabbitmq", payload={})
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    # when: beat and a worker run with RabbitMQ as the broker
    worker_log, beat_log = start("worker"), start("beat")
    # then: beat published the sweep on RabbitMQ and the worker ran it
    assert wait_for(lambda: OutboxEvent.objects.get(pk=event.pk).status == OutboxEvent.Status.DISPATCHED), (
        worker_log.read_text()[-3000:] + beat_log.read_text()[-3000:]
    )
    # and both logged JSON lines naming the service, through RabbitMQ
    worker_lines, beat_lines = json_lines(worker_log), json_lines(beat_log)
    assert any("Connected to amqp://guest:**@127.0.0.1:5672//" in line["message"] for line in worker_lines)
    assert any("beat: Starting" in line["message"] for line in beat_lines)
    for line in worker_lines + beat_lines:
        assert (line["service"], line["environment"]) == ("olympus", settings.ENVIRONMENT), line
        assert line["version"] == settings.SERVICE_VERSION
