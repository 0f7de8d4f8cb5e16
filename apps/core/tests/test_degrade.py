"""In-process: what a request meets when Redis or PostgreSQL does not answer (issue 18).

The cache is pointed at a socket nobody listens on (a refusal); the database errors are the
ones psycopg raises for a server that is gone. Real outages are driven in
test_redis_outage.py and test_postgres_outage.py.
"""

import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY

from apps.catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_refuses(settings, tmp_path):
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = f"unix://{tmp_path}/nobody-listens.sock?db=0"
    settings.CACHES = {"default": cache}


def fail_open_count(scope):
    return REGISTRY.get_sample_value("olympus_throttle_fail_open_total", {"scope": scope}) or 0


def test_throttles_fail_open_and_are_counted_when_redis_refuses(redis_refuses, api_client, organization):
    # given
    ProductFactory(organization=organization)
    before = fail_open_count("anon")
    # when
    response = api_client.get("/api/v1/products/")
    # then: the read is served from the database, and the pass is counted
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 1
    assert fail_open_count("anon") == before + 1


def test_login_throttles_fail_open_too(redis_refuses, api_client, user):
    before = fail_open_count("login_ip")
    response = api_client.post("/api/v1/auth/login", {"email": user.email, "password": "wrong"}, format="json")
    assert response.status_code in (400, 401), response.content
    assert fail_open_count("login_ip") == before + 1


def test_a_database_outage_is_a_503_with_retry_after_on_rest(api_client_for, user, monkeypatch, settings):
    # given: every query fails the way psycopg fails when the server is gone
    client = api_client_for(user)
    from apps.orders import selectors

    def gone(*args, **kwargs):
        raise OperationalError("connection to server on socket failed: No such file or directory")

    monkeypatch.setattr(selectors, "order_list", gone)
    # when
    response = client.get("/api/v1/orders/")
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DEPENDENCY_RETRY_AFTER_SECONDS)
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert "socket" not in error["message"]  # nothing of the cause leaks
