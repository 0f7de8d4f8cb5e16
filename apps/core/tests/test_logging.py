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
    assert line["level"] == "WARNING"  # a 4xx
    assert line["logger"] == "olympus.access"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/nothing-here/"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert "user_id" in line
    assert "organization_id" in line
    assert "sekret" not in stream.getvalue()


# --- issue 17: access log fields and levels, service fields on every line -----------------------


@pytest.fixture
def access_lines():
    """The production handler (filters and JSON formatter, as LOGGING builds it) on the access logger."""
    from django.conf import settings
    from django_guid.log_filters import CorrelationId

    from apps.core.logging import ServiceFilter

    assert settings.LOGGING["handlers"]["default"]["filters"] == ["request_id", "service", "redact"]
    logger = logging.getLogger("olympus.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationId(correlation_id_field="request_id"))
    handler.addFilter(ServiceFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)

    def lines():
        return [json.loads(line) for line in stream.getvalue().strip().splitlines()]

    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.django_db
def test_access_log_names_the_client_its_agent_and_the_response_size(client, access_lines, settings):
    # given: one trusted proxy in front; the client wrote a first hop of its own
    settings.NUM_PROXIES = 1
    # when
    response = client.get(
        "/live", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.2", HTTP_USER_AGENT="curl/8.9"
    )
    # then: the hop the proxy appended, not the one the client wrote
    [line] = access_lines()
    assert line["client_ip"] == "203.0.113.7"
    assert line["user_agent"] == "curl/8.9"
    assert line["response_bytes"] == len(response.content) > 0
    assert line["status"] == 200


@pytest.mark.django_db
def test_without_trusted_proxies_the_forwarded_header_is_ignored(client, access_lines, settings):
    settings.NUM_PROXIES = 0
    client.get("/live", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="10.0.0.2")
    assert access_lines()[0]["client_ip"] == "10.0.0.2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/products/", "INFO"),  # 200
        ("/api/v1/orders/", "WARNING"),  # 401 for an anonymous caller
        ("/api/v1/nothing-here/", "WARNING"),  # 404
        ("/live", "DEBUG"),  # a probe that answers well stays out of the INFO log
    ],
)
def test_access_log_level_follows_the_status(client, access_lines, path, expected):
    client.get(path)
    assert access_lines()[-1]["level"] == expected


@pytest.mark.django_db
@pytest.mark.urls("apps.core.tests.urls")
def test_a_server_error_is_logged_at_error(api_client, access_lines):
    response = api_client.get("/api/v1/test/boom/")
    assert response.status_code == 500
    assert access_lines()[-1]["level"] == "ERROR"


def test_every_line_names_the_service_its_version_and_the_environment(settings):
    # given: the handler the settings build (the same for web, worker and beat)
    from apps.core.logging import ServiceFilter

    logger, stream = make_logger(JsonFormatter())
    logger.handlers[0].addFilter(ServiceFilter())
    # when
    logger.warning("anything")
    # then
    line = json.loads(stream.getvalue())
    assert (line["service"], line["environment"]) == ("olympus", settings.ENVIRONMENT)
    assert line["version"] == settings.SERVICE_VERSION
    assert line["version"].startswith("0.1.0")
    assert "trace_id" not in line  # tracing is off in the suite unless a test turns it on


def test_the_version_comes_from_the_package_and_git(tmp_path):
    from olympus.version import git_commit, service_version

    # given: a checkout with a packed ref, and a bare project directory
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "olympus"\nversion = "2.3.4"\n')
    assert service_version(tmp_path) == "2.3.4"
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "olympus"\nversion = "2.3.4"\n')
    (checkout / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (checkout / ".git" / "packed-refs").write_text(f"{'ab' * 20} refs/heads/main\n")
    # then
    assert git_commit(checkout) == "ab" * 20
    assert service_version(checkout) == f"2.3.4+g{'ab' * 6}"
