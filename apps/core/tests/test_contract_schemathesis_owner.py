"""The OpenAPI document is the behaviour, for an owner: see test_contract_schemathesis.py.

The owner's session is renewed after any operation that ends it (logout, password change, session revoke).
"""

from __future__ import annotations

import pytest
from hypothesis import given

from apps.core.tests.contract import (
    HYPOTHESIS,
    OPERATIONS,
    label,
    operation_cases,
)
from apps.core.tests.contract_report import SESSION_ENDING

pytestmark = [pytest.mark.django_db, pytest.mark.contract, pytest.mark.usefixtures("contract_wsgi")]


@pytest.mark.parametrize("operation", OPERATIONS, ids=label)
def test_owner_gets_only_documented_answers(operation, owner_session, contract_counter):
    @HYPOTHESIS
    @given(case=operation_cases(operation))
    def check(case):
        response = case.call_and_validate(headers=owner_session.headers)
        contract_counter.record("owner", case, response)
        # Logging out, changing the password or deleting sessions ends the session: log in again.
        if (case.method.upper(), case.path) in SESSION_ENDING or response.status_code == 401:
            owner_session.renew()

    check()
