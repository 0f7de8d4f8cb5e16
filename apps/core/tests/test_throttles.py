"""Every REST endpoint is throttled: per IP for anonymous callers, per user otherwise."""

import pytest
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

pytestmark = pytest.mark.django_db


def test_anonymous_callers_are_throttled_per_ip(api_client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    assert [api_client.get("/api/v1/products/").status_code for _ in range(2)] == [200, 200]
    response = api_client.get("/api/v1/products/")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(response["Retry-After"]) >= 1


def test_signed_in_users_have_their_own_bucket(api_client_for, user, api_client, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min"})
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "100/min"})
    client = api_client_for(user)
    assert client.get("/api/v1/products/").status_code == 200
    assert client.get("/api/v1/products/").status_code == 429
    # another caller is not affected
    assert api_client.get("/api/v1/products/").status_code == 200
