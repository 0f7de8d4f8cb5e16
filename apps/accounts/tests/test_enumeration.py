"""No account enumeration: a password reset request does the same work for every address;
the email task decides (registration's side is in test_register.py)."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.tests.helpers import RESET_URL
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _request_reset(api_client, email):
    with CaptureQueriesContext(connection) as queries:
        response = api_client.post(RESET_URL, {"email": email}, format="json")
    # The statements without their values (ids, timestamps, the address itself).
    shapes = [re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", q["sql"]) for q in queries.captured_queries]
    return response, shapes


def test_password_reset_runs_the_same_statements_for_known_and_unknown_addresses(api_client, user):
    # when
    known, known_sql = _request_reset(api_client, user.email)
    unknown, unknown_sql = _request_reset(api_client, "nobody@example.com")

    # then: the same answer and the same database work, no user lookup on the request
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (202, b"")
    assert known_sql == unknown_sql
    assert any("INSERT" in sql and "core_outboxevent" in sql for sql in known_sql)
    assert not any("accounts_user" in sql for sql in known_sql)
    payloads = [e.payload for e in OutboxEvent.objects.filter(event_type="auth.password_reset_requested")]
    assert [sorted(p) for p in payloads] == [sorted(payloads[0])] * 2
    assert {p["email"] for p in payloads} == {user.email, "nobody@example.com"}


def test_the_email_task_mails_only_an_active_user(api_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(RESET_URL, {"email": "nobody@example.com"}, format="json")
        api_client.post(RESET_URL, {"email": user.email.upper()}, format="json")

    assert [m.to for m in mail.outbox] == [[user.email]]
    assert mail.outbox[0].subject == "Reset your password"
