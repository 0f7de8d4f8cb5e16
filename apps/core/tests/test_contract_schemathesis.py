"""The OpenAPI document is the behaviour: schemathesis over every operation, anonymous and as an owner.

Every operation of ``/api/schema/`` gets generated requests (valid and invalid,
seeded, a bounded number each) through Django's WSGI application on the real
PostgreSQL and Redis; all of schemathesis's checks run. A server error, a
response that breaks its schema or a status the operation does not document
fails the test.

``SCHEMATHESIS_MAX_EXAMPLES`` raises the number of cases per operation for a
long local run (``make contract-long``; see docs/api-contract.md).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from hypothesis import settings as hypothesis_settings
from rest_framework.settings import api_settings

from apps.core.tests.contract import SESSION_ENDING, CaseCounter

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "14"))

pytestmark = [pytest.mark.django_db, pytest.mark.contract]


# Loaded once at collection through the WSGI application (the schema view reads no database).
CONFIG = SchemathesisConfig.from_path(settings.BASE_DIR / "schemathesis.toml")
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)
schema.config.generation.update(database="none")
schema.config.seed = SEED


@schema.hook
def map_query(context, query):
    # A cursor is opaque: only a `next`/`previous` link holds a valid one (a made-up one is a documented 400).
    # Real cursors are followed by the generated-client test.
    if query:
        query.pop("cursor", None)
    return query


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # As Django's test client does: the WSGI handler must not close the connection holding the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _throttles_out_of_reach(monkeypatch):
    # Throttles stay on, with rates a fuzzer does not reach (429 is documented; it would only hide operations).
    for scope in list(api_settings.DEFAULT_THROTTLE_RATES):
        monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, scope, "1000000/min")


HYPOTHESIS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


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


# One pytest item per operation (schemathesis's own parametrize gives every item the same node id, which
# pytest-xdist cannot distribute); valid and invalid requests from one seeded strategy each.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def _cases(operation):
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def _label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=_label)
def test_anonymous_caller_gets_only_documented_answers(operation, contract_counter: CaseCounter):
    @HYPOTHESIS
    @given(case=_cases(operation))
    def check(case):
        response = case.call_and_validate()
        contract_counter.record("anonymous", case, response)

    check()


@pytest.mark.parametrize("operation", OPERATIONS, ids=_label)
def test_owner_gets_only_documented_answers(operation, owner_session, contract_counter: CaseCounter):
    @HYPOTHESIS
    @given(case=_cases(operation))
    def check(case):
        response = case.call_and_validate(headers=owner_session.headers)
        contract_counter.record("owner", case, response)
        # Logging out, changing the password or deleting sessions ends the session: log in again.
        if (case.method.upper(), case.path) in SESSION_ENDING or response.status_code == 401:
            owner_session.renew()

    check()


@pytest.fixture(scope="session")
def contract_counter():
    counter = CaseCounter()
    yield counter
    counter.write()
