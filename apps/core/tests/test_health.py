"""Probes: /live, /ready and /health report real dependencies, 503 when one is down."""

import pytest

from apps.core import health

pytestmark = pytest.mark.django_db

DETAILS = {"HTTP_AUTHORIZATION": "Bearer test-health-token"}

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        # Nothing listens on port 1 of the loopback: a real refused connection.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


def test_live_is_ok(client):
    response = client.get("/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_database_and_cache(client):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {"database": "ok", "cache": "ok"}


def test_health_reports_every_dependency(client):
    client.get("/health")  # starts the background worker ping and queue reading
    health.wait_for_refresh()
    response = client.get("/health", **DETAILS)
    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert set(checks) == {"database", "cache", "broker", "migrations", "workers", "queues"}
    dependencies = ("database", "cache", "broker", "migrations", "queues")
    assert all(checks[name]["status"] == "ok" for name in dependencies)
    # Without a Celery worker the answer is "degraded", still 200 (see apps/jobs/tests/test_observability.py).
    assert checks["workers"]["status"] in {"ok", "degraded"}


def test_ready_is_503_when_redis_is_unreachable(client, settings):
    settings.CACHES = UNREACHABLE_REDIS
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert "127.0.0.1" not in response.content.decode()


def test_health_is_503_when_the_broker_is_unreachable(client, settings):
    from olympus.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health", **DETAILS)
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"


def test_health_is_503_with_unapplied_migrations(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    real_plan = MigrationExecutor.migration_plan

    def plan_with_rollback(self, targets, clean_start=False):
        # Ask for the plan against the first accounts migration: one step is then "unapplied".
        return real_plan(self, [("accounts", None)], clean_start)

    monkeypatch.setattr(MigrationExecutor, "migration_plan", plan_with_rollback)
    response = client.get("/health", **DETAILS)
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["status"] == "error"


def test_metrics_expose_request_latency_histogram(client):
    client.get("/live")
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer test-metrics-token")
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert "django_http_responses_total_by_status_total" in text
