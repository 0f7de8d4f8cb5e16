"""The database backend's health check: no round trip for a connection that sits idle and sound."""

import select
import time

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept():
    """A connection of its own (autocommit, outside the test's transaction), as a web thread keeps one."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def last_statement(pid: int) -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def test_an_idle_sound_connection_is_usable_without_a_statement(kept):
    # given: the kept connection's last statement
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = kept.connection.info.backend_pid
    # when
    usable = kept.is_usable()
    # then: usable, and the server saw nothing after that statement (no SELECT 1)
    assert usable is True
    assert last_statement(pid) == "SELECT 'the last statement'"


def test_a_connection_the_server_closed_is_not_usable(kept):
    # given: the server ends the kept connection (as a restart or an idle timeout does)
    pid = kept.connection.info.backend_pid
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    poller = select.poll()
    poller.register(kept.connection.fileno(), select.POLLIN)
    assert poller.poll(5000), "the server's goodbye did not arrive within 5 s"
    # when / then
    assert kept.is_usable() is False


def test_a_closed_connection_is_not_usable(kept):
    kept.connection.close()
    assert kept.is_usable() is False


def test_a_connection_that_spoke_out_of_turn_but_is_sound_stays_usable(kept):
    # given: a notification arrives while the connection sits idle (something to read, nothing wrong)
    with kept.cursor() as cursor:
        cursor.execute("LISTEN olympus_health_check_test")
    sender = connections.create_connection("default")  # autocommit: the notification leaves at once
    try:
        with sender.cursor() as cursor:
            cursor.execute("SELECT pg_notify('olympus_health_check_test', 'hello')")
    finally:
        sender.close()
    poller = select.poll()
    poller.register(kept.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 5
    while not poller.poll(100):
        assert time.monotonic() < deadline, "the notification did not arrive within 5 s"
    # when / then: the SELECT 1 tells it from a closed connection
    assert kept.is_usable() is True
    assert last_statement(kept.connection.info.backend_pid) == "SELECT 1"
