"""core.db.Statement (the webhook delivery path's statements): prepared once per database session (PREPARE and
EXECUTE in one round trip the first time, EXECUTE after), never behind a transaction pooler, prepared afresh after
anything failed; one that skips the flush wait does so in its own transaction only."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext

from apps.core.db import Statement

pytestmark = pytest.mark.django_db(transaction=True)  # new sessions, failures outside a transaction: as a worker

SUM = Statement("webhooks_test_sum", "SELECT %(a)s::int + %(b)s::int, %(a)s::int")


def run(statement=SUM, **parameters):
    with connection.cursor() as cursor:
        statement.execute(cursor, parameters)
        return cursor.fetchall()


def prepared_names():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'webhooks_test_sum%%'")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_once_per_session_in_the_same_round_trip():
    connection.close()  # a new session
    with CaptureQueriesContext(connection) as queries:
        assert run(a=40, b=2) == [(42, 40)]
        assert run(a=1, b=2) == [(3, 1)]
    assert len(queries) == 2
    assert queries[0]["sql"].startswith("PREPARE webhooks_test_sum_")
    assert queries[1]["sql"].startswith("EXECUTE webhooks_test_sum_")
    assert len(prepared_names()) == 1


def test_a_new_session_prepares_it_again():
    run(a=1, b=1)
    connection.close()
    with CaptureQueriesContext(connection) as queries:
        assert run(a=2, b=2) == [(4, 2)]
    assert queries[0]["sql"].startswith("PREPARE ")


def test_behind_a_transaction_pooler_the_plain_statement_runs(settings):
    settings.DB_TRANSACTION_POOLER = True
    connection.close()
    with CaptureQueriesContext(connection) as queries:
        assert run(a=5, b=6) == [(11, 5)]
    assert queries[0]["sql"].startswith("SELECT ")
    assert prepared_names() == []


def test_after_a_failure_it_is_prepared_afresh_under_a_new_name():
    run(a=1, b=1)
    [before] = prepared_names()
    with connection.cursor() as cursor:  # the session loses its prepared statements
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(DatabaseError):
        run(a=1, b=1)
    assert run(a=3, b=4) == [(7, 3)]
    [after] = prepared_names()
    assert after != before


SETTING = "SELECT current_setting('synchronous_commit'), %(a)s::int"


@pytest.mark.parametrize("pooler", [False, True])
def test_a_statement_that_need_not_wait_for_the_flush_commits_without_waiting_and_changes_nothing_else(
    settings, pooler
):
    settings.DB_TRANSACTION_POOLER = pooler
    connection.close()  # a new session: the first run prepares (or, behind a pooler, runs plain SQL)
    quick = Statement("webhooks_test_quick", SETTING, flush_wait=False)
    assert run(quick, a=1) == [("off", 1)]  # its own transaction runs with synchronous_commit off
    assert run(quick, a=2) == [("off", 2)]  # and again once prepared
    # The setting was local to that transaction: the session's next statements wait for the flush as before.
    assert run(Statement("webhooks_test_durable", SETTING), a=3) == [("on", 3)]
    # Inside a caller's transaction it leaves the setting alone: it would reach all that transaction writes.
    with transaction.atomic():
        assert run(quick, a=4) == [("on", 4)]
    assert run(quick, a=5) == [("off", 5)]
