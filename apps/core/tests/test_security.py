"""Security defaults on every response."""

import pytest

pytestmark = pytest.mark.django_db


def test_security_headers(client):
    response = client.get("/live")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_cors_allows_configured_origin_only(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    allowed = client.options(
        "/api/v1/nothing/", HTTP_ORIGIN="https://shop.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    denied = client.get("/live", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in denied


def test_request_id_header_is_exposed_to_browsers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    response = client.get("/live", HTTP_ORIGIN="https://shop.example.com")
    assert "x-request-id" in response["Access-Control-Expose-Headers"].lower()
