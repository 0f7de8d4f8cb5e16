"""No 5xx from any input: JSON depth, characters PostgreSQL cannot store, date-times it cannot represent.

Each case runs through REST and GraphQL and expects the caller's mistake (400
``VALIDATION_ERROR`` naming the field), never ``INTERNAL_ERROR``.
"""

from __future__ import annotations

import json

import pytest

from apps.audit.services import DIFF_MAX_DEPTH, _diff
from apps.core import inputs
from apps.core.logging import TOO_DEEP, redact

pytestmark = pytest.mark.django_db

DEEP = 5000


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _assert_validation_error(response, field: str | None = None) -> dict:
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    if field is not None:
        assert field in error["details"], error
    return error


# --- JSON depth ---------------------------------------------------------------------------------


def test_deeply_nested_body_on_anonymous_login_is_a_400(api_client):
    body = '{"email": ' + _nested(DEEP) + ', "password": "x"}'
    response = api_client.post("/api/v1/auth/login", body, content_type="application/json")
    error = _assert_validation_error(response, "body")
    assert "64 levels" in error["message"]


@pytest.mark.parametrize("depth", [100_000])
def test_depth_check_scans_without_recursion(depth):
    with pytest.raises(inputs.ValidationError):
        inputs.check_json_depth(_nested(depth), limit=64)


def test_brackets_inside_strings_do_not_count():
    inputs.check_json_depth('{"a": "[[[[[[[[[[\\"{{{{{{{{"}', limit=1)


def test_depth_limit_is_a_setting(api_client, settings, owner, organization, api_client_for):
    # given: a limit of 3 levels
    settings.JSON_MAX_DEPTH = 3
    client = api_client_for(owner)
    body = {"organization": str(organization.pk), "name": "Deep", "price_cents": 100}
    # when / then: 3 levels pass (body, attributes, a list), a 4th is refused
    allowed = client.post("/api/v1/products/", {**body, "attributes": {"sizes": [1, 2]}}, format="json")
    assert allowed.status_code == 201, allowed.content
    refused = client.post("/api/v1/products/", {**body, "attributes": {"sizes": [[1]]}}, format="json")
    _assert_validation_error(refused, "body")


def test_deep_attributes_within_the_limit_are_audited(owner, organization, api_client_for):
    # 60 levels inside attributes: stored, and the audit diff/redaction handle it.
    client = api_client_for(owner)
    attributes = {"a": 1}
    for _ in range(60):
        attributes = {"a": attributes}
    response = client.post(
        "/api/v1/products/",
        {"organization": str(organization.pk), "name": "Deep", "price_cents": 100, "attributes": attributes},
        format="json",
    )
    assert response.status_code == 201, response.content
    product_id = response.json()["id"]
    changed = client.patch(f"/api/v1/products/{product_id}/", {"attributes": {"a": {"b": 2}}}, format="json")
    assert changed.status_code == 200, changed.content


def test_redaction_and_audit_diff_are_bounded():
    deep: dict = {"leaf": "password=hunter2"}
    for _ in range(DEEP):
        deep = {"k": deep}
    redacted = redact(deep)
    level = redacted
    while isinstance(level, dict):
        level = level["k"]
    assert level == TOO_DEEP

    # The diff descends DIFF_MAX_DEPTH levels and keeps the deeper differing object whole.
    assert DIFF_MAX_DEPTH < 400
    before: dict = {"leaf": 1}
    after: dict = {"leaf": 2}
    for _ in range(400):
        before, after = {"k": before}, {"k": after}
    old, _new = _diff({"x": before}, {"x": after})
    level, levels = old["x"], 0
    while "k" in level:
        level, levels = level["k"], levels + 1
    assert level == {"leaf": 1}
    assert levels == 400


# --- characters PostgreSQL cannot store ----------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"colour": "red\u0000"}, "attributes.colour"),
        ({"bad\u0000key": "x"}, "attributes.bad\\u0000key"),
        ({"list": ["ok", "SURROGATE"]}, "attributes.list.1"),
        ({"SURROGATE": 1}, "attributes.\\ud800"),
    ],
)
def test_unstorable_characters_in_json_fields_are_refused(owner, organization, api_client_for, attributes, field):
    client = api_client_for(owner)
    body = {"organization": str(organization.pk), "name": "P", "price_cents": 1, "attributes": attributes}
    # A lone surrogate can only arrive as a JSON escape (it cannot be encoded as UTF-8).
    text = json.dumps(body).replace("SURROGATE", "\\ud800")
    response = client.post("/api/v1/products/", text, content_type="application/json")
    _assert_validation_error(response, field)


def test_nul_in_a_plain_field_names_it(api_client):
    response = api_client.post("/api/v1/auth/login", {"email": "a\u0000@example.com", "password": "x"}, format="json")
    _assert_validation_error(response, "email")


def test_nul_in_a_query_parameter_is_a_400(api_client):
    response = api_client.get("/api/v1/products/", {"search": "a\u0000b"})
    _assert_validation_error(response, "search")


# --- date-times PostgreSQL cannot represent --------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2020-01-01T00:00:00+19:27", "2020-01-01T00:00:00-16:00", "0001-01-01T00:00:00+01:00"]
)
@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/organizations/{org}/audit-logs/"])
def test_unrepresentable_datetime_filters_are_a_400(owner, organization, api_client_for, path, value):
    client = api_client_for(owner)
    response = client.get(path.format(org=organization.pk), {"created_after": value})
    _assert_validation_error(response, "created_after")


def test_offset_within_range_is_accepted(owner, organization, api_client_for):
    client = api_client_for(owner)
    response = client.get("/api/v1/orders/", {"created_after": "2020-01-01T00:00:00+15:59"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("name", "value"), [("from", "9999-12-31"), ("to", "0001-01-01")])
def test_analytics_dates_out_of_range_are_a_400(owner, organization, api_client_for, name, value):
    client = api_client_for(owner)
    response = client.get(f"/api/v1/organizations/{organization.pk}/analytics/summary/", {name: value})
    _assert_validation_error(response, name)
