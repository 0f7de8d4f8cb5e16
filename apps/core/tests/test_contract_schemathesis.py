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

import pytest
from hypothesis import given

from apps.core.tests.contract import (
    HYPOTHESIS,
    OPERATIONS,
    label,
    operation_cases,
)

pytestmark = [pytest.mark.django_db, pytest.mark.contract, pytest.mark.usefixtures("contract_wsgi")]


@pytest.mark.parametrize("operation", OPERATIONS, ids=label)
def test_anonymous_caller_gets_only_documented_answers(operation, contract_counter):
    @HYPOTHESIS
    @given(case=operation_cases(operation))
    def check(case):
        response = case.call_and_validate()
        contract_counter.record("anonymous", case, response)

    check()
