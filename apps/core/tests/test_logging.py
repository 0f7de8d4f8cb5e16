"""Log lines never carry secrets; production lines are JSON with the request context."""

import io
import json
import logging

import pytest

from apps.core.logging import REDACTED, JsonFormatter, RedactingFilter, redact_text


def make_logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.redaction.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login failed password=hunter2 for bob", "hunter2"),
        ('payload {"password": "hunter2", "email": "a@b.c"}', "hunter2"),
        ("header Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi.abc.def"),
        ("refresh_token=abc.def.ghi&x=1", "abc.def.ghi"),
        ("Cookie: sessionid=s3cr3t", "s3cr3t"),
        ("api_key: 'k-123'", "k-123"),
    ],
)
def test_secrets_in_free_text_are_redacted(text, secret):
    redacted = redact_text(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_innocent_text_is_left_alone():
    assert redact_text("GET /api/v1/products/ 200 3.2ms") == "GET /api/v1/products/ 200 3.2ms"


def test_extra_fields_and_dict_arguments_are_redacted():
    # given
    logger, stream = make_logger(JsonFormatter())
    # when
    logger.info(
        "request %s",
        {"password": "hunter2", "email": "a@example.com"},
        extra={"headers": {"Authorization": "Bearer tok.en.x", "Accept": "json"}, "token": "raw-token"},
    )
    # then
    line = json.loads(stream.getvalue())
    assert "hunter2" not in stream.getvalue()
    assert "tok.en.x" not in stream.getvalue()
    assert "raw-token" not in stream.getvalue()
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert line["token"] == REDACTED
    assert "a@example.com" in line["message"]


@pytest.mark.django_db
def test_access_log_is_json_with_request_context(client, caplog):
    # given: the production formatter on the access logger
    logger = logging.getLogger("olympus.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    from django_guid.log_filters import CorrelationId

    handler.addFilter(CorrelationId(correlation_id_field="request_id"))
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        # when
        response = client.get("/api/v1/nothing-here/?token=abc", HTTP_AUTHORIZATION="Bearer sekret")
    finally:
        logger.removeHandler(handler)
    # then
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["level"] == "INFO"
    assert line["logger"] == "olympus.access"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/nothing-here/"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert "user_id" in line
    assert "organization_id" in line
    assert "sekret" not in stream.getvalue()
