"""Every API error answers the one envelope, with the right status and a request id."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("apps.core.tests.urls")]


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "details" in error
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_unknown_api_path_gets_404_envelope(client):
    error = assert_envelope(client.get("/api/v1/no-such-thing/"), 404, "NOT_FOUND")
    assert "/api/v1/no-such-thing/" in error["message"]


def test_unknown_api_path_outside_v1_gets_404_envelope(client):
    assert_envelope(client.post("/api/nothing", data={}), 404, "NOT_FOUND")


def test_wrong_method_gets_405_envelope(api_client):
    assert_envelope(api_client.get("/api/v1/test/echo/"), 405, "METHOD_NOT_ALLOWED")


def test_unsupported_media_type_gets_415_envelope(api_client):
    response = api_client.post("/api/v1/test/echo/", data="name=x", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_malformed_json_gets_400_validation_error(api_client):
    response = api_client.post("/api/v1/test/echo/", data='{"name": ', content_type="application/json")
    assert_envelope(response, 400, "VALIDATION_ERROR")


def test_invalid_fields_are_named_in_details(api_client):
    response = api_client.post("/api/v1/test/echo/", {"name": "x" * 20, "quantity": 0}, format="json")
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"name", "quantity"}


def test_valid_request_passes(api_client):
    response = api_client.post("/api/v1/test/echo/", {"name": "ok", "quantity": 2}, format="json")
    assert response.status_code == 201
    assert response.json() == {"name": "ok", "quantity": 2}


def test_application_error_keeps_its_code_and_details(api_client):
    error = assert_envelope(api_client.post("/api/v1/test/conflict/", {}, format="json"), 409, "CONFLICT")
    assert error["message"] == "Already done."
    assert error["details"] == {"state": "done"}


def test_unauthenticated_gets_401_envelope_with_challenge(api_client):
    response = api_client.get("/api/v1/test/private/")
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_gets_401_envelope(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_envelope(api_client.get("/api/v1/test/private/"), 401, "UNAUTHORIZED")


def test_authenticated_user_passes(api_client_for, user):
    assert api_client_for(user).get("/api/v1/test/private/").json() == {"ok": True}


def test_unhandled_error_in_drf_view_gets_500_without_internals(api_client, caplog):
    response = api_client.get("/api/v1/test/boom/")
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "secret" not in response.content.decode()
    assert "hunter2" not in response.content.decode()
    assert error["details"] == {}
    assert any(record.levelname == "ERROR" for record in caplog.records)


def test_unhandled_error_in_plain_view_under_api_gets_500_envelope(client):
    response = client.get("/api/v1/test/plain-boom/")
    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "internals" not in response.content.decode()


def test_payload_too_large_gets_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api_client.post("/api/v1/test/echo/", {"name": "x" * 500, "quantity": 1}, format="json")
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_throttled_request_gets_429_with_retry_after(api_client, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    from apps.core.tests.urls import EchoView

    class OnePerMinute(AnonRateThrottle):
        rate = "1/min"

    monkeypatch.setattr(EchoView, "throttle_classes", [OnePerMinute])
    assert api_client.post("/api/v1/test/echo/", {"name": "a", "quantity": 1}, format="json").status_code == 201
    response = api_client.post("/api/v1/test/echo/", {"name": "a", "quantity": 1}, format="json")
    error = assert_envelope(response, 429, "RATE_LIMIT_EXCEEDED")
    assert int(response["Retry-After"]) >= 1
    assert error["details"]["retry_after_seconds"] >= 1
