"""A worker keeps its database connection from one task to the next (Celery would close it around every task),
and closes it, as Django does around a request, only when it broke or outlived CONN_MAX_AGE."""

import select
import time

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.conf import settings
from django.db import connection, connections

from apps.webhooks.tasks import webhook_sweep
from olympus.celery import app

pytestmark = pytest.mark.django_db(transaction=True)  # a worker's task runs outside any transaction


@pytest.fixture(autouse=True)
def _no_broken_connection_left_behind():
    """A test here that fails with the test's own connection ended must not hand it, broken, to the tests after it."""
    yield
    if connection.connection is not None and connection.connection.broken:
        connection.close()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def run_task_signals(*, eager: bool = False) -> None:
    """What a worker sends around a task (the task itself is not run)."""
    webhook_sweep.push_request(id="connections-test", is_eager=eager)
    try:
        signals.task_prerun.send(
            sender=webhook_sweep, task_id="connections-test", task=webhook_sweep, args=(), kwargs={}
        )
        signals.task_postrun.send(
            sender=webhook_sweep,
            task_id="connections-test",
            task=webhook_sweep,
            args=(),
            kwargs={},
            retval=0,
            state="SUCCESS",
        )
    finally:
        webhook_sweep.pop_request()


def test_celery_closes_connections_only_every_reuse_max_tasks():
    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert DjangoWorkerFixup(app).db_reuse_max == settings.CELERY_DB_REUSE_MAX


def test_a_healthy_connection_is_kept_across_tasks():
    before = backend_pid()
    run_task_signals()
    run_task_signals()
    assert backend_pid() == before


def test_a_connection_past_its_max_age_is_closed_around_a_task():
    backend_pid()
    connection.close_at = time.monotonic() - 1
    run_task_signals()
    assert connection.connection is None


def test_a_broken_connection_is_replaced_around_a_task():
    # given: another session ends this one, as a PostgreSQL restart would
    before = backend_pid()
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [before])
    finally:
        killer.close()
    # pg_terminate_backend only signals the backend: wait for its goodbye on our socket, as a worker meets it
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    assert poller.poll(5000), "the server's goodbye did not arrive within 5 s"
    connection.errors_occurred = True  # what Django notes when a query fails on it
    run_task_signals()
    assert backend_pid() != before


def test_an_eager_task_leaves_its_callers_connection_alone():
    backend_pid()
    connection.close_at = time.monotonic() - 1
    run_task_signals(eager=True)
    assert connection.connection is not None
