"""The OpenAPI document under test, loaded once through the WSGI application, and its seeded strategies."""

from __future__ import annotations

import os

import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "14"))


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


HYPOTHESIS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# One pytest item per operation (schemathesis's own parametrize gives every item the same node id, which
# pytest-xdist cannot distribute); valid and invalid requests from one seeded strategy each.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def operation_cases(operation):
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"
