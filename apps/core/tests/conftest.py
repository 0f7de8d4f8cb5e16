"""Fixtures of the contract tests (the schema itself loads in contract.py, only where it is used)."""

from __future__ import annotations

import pytest
from django.core import signals
from django.db import close_old_connections
from rest_framework.settings import api_settings

from apps.core.tests.contract_report import CaseCounter


@pytest.fixture
def _keep_the_test_connection():
    # As Django's test client does: the WSGI handler must not close the connection holding the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def _throttles_out_of_reach(monkeypatch):
    # Throttles stay on, with rates a fuzzer does not reach (429 is documented; it would only hide operations).
    for scope in list(api_settings.DEFAULT_THROTTLE_RATES):
        monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, scope, "1000000/min")


@pytest.fixture
def contract_wsgi(_keep_the_test_connection, _throttles_out_of_reach):
    """Requests go through Django's WSGI handler in the test's transaction, throttles out of reach."""


@pytest.fixture
def owner_session(owner, organization):
    """Bearer headers of a live session of the owner; ``renew()`` after an operation that ended it."""
    from apps.accounts.services import ClientInfo, session_start

    class Session:
        def __init__(self) -> None:
            self.renew()

        def renew(self) -> None:
            tokens = session_start(user=owner, client=ClientInfo(ip="127.0.0.1", user_agent="schemathesis"))
            self.headers = {"Authorization": f"Bearer {tokens.access}"}

    return Session()


@pytest.fixture(scope="session")
def contract_counter():
    counter = CaseCounter()
    yield counter
    counter.write()
