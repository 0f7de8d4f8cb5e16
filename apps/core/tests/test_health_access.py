"""/health shows details only to a token or staff, pings the workers at most once per interval,
answers within its deadline when a dependency hangs; /metrics needs credentials."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest
from django.core.cache import cache

from apps.core import health

pytestmark = pytest.mark.django_db

TOKEN = {"HTTP_AUTHORIZATION": "Bearer test-health-token"}


@pytest.fixture(autouse=True)
def _no_refresh_in_flight():
    """A refresh started by an earlier test must not write into this one's (cleared) cache."""
    health.wait_for_refresh()
    yield
    health.wait_for_refresh()
    health.wait_for_checks()


def test_anonymous_callers_get_the_overall_status_only(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": response.json()["status"]}
    assert response.json()["status"] in {"ok", "degraded"}


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer ", "Basic dGVzdC1oZWFsdGgtdG9rZW4=", ""])
def test_a_wrong_token_gets_the_status_only(client, header):
    response = client.get("/health", HTTP_AUTHORIZATION=header)

    assert set(response.json()) == {"status"}


def test_the_health_token_gets_every_check(client):
    response = client.get("/health", **TOKEN)

    assert set(response.json()["checks"]) == {"database", "cache", "broker", "migrations", "workers", "queues"}


def test_staff_get_every_check_and_other_users_do_not(client, staff_user, user):
    client.force_login(user)
    assert set(client.get("/health").json()) == {"status"}

    client.force_login(staff_user)
    assert "workers" in client.get("/health").json()["checks"]


def test_no_health_token_configured_means_no_details_for_anyone_anonymous(client, settings):
    settings.HEALTH_TOKEN = ""

    assert set(client.get("/health", HTTP_AUTHORIZATION="Bearer ").json()) == {"status"}


def test_many_calls_ping_the_workers_once_per_interval(client, settings):
    # given: a long interval and no snapshot yet
    settings.HEALTH_WORKER_PING_INTERVAL = 300
    assert cache.get(health.PING_COUNT_KEY) is None
    # when: many callers in a row, before and after the background refresh finished
    for _ in range(25):
        assert client.get("/health").status_code == 200
    health.wait_for_refresh()
    for _ in range(25):
        client.get("/health", **TOKEN)
    health.wait_for_refresh()
    # then: one broadcast ping went out, and its answer is what the details show
    assert cache.get(health.PING_COUNT_KEY) == 1
    workers = client.get("/health", **TOKEN).json()["checks"]["workers"]
    assert "workers" in workers


def test_a_stale_snapshot_is_refreshed_by_one_caller(client, settings):
    # given: a snapshot older than the interval, and its lock expired
    settings.HEALTH_WORKER_PING_INTERVAL = 300
    cache.set(health.CELERY_KEY, {"at": time.time() - 301, "workers": 1, "depths": {}}, timeout=None)
    # when
    for _ in range(10):
        client.get("/health")
    health.wait_for_refresh()
    # then: exactly one new ping, and the snapshot is fresh
    assert cache.get(health.PING_COUNT_KEY) == 1
    assert time.time() - cache.get(health.CELERY_KEY)["at"] < 300


@pytest.fixture
def hung_redis():
    """A TCP listener that completes connections and never answers: a hung Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_health_answers_within_its_deadline_when_redis_hangs(client, settings, hung_redis):
    # given: the cache hangs for 2 s on every call; the deadline is 0.3 s
    settings.HEALTH_TIMEOUT_SECONDS = 0.3
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": hung_redis,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    # when
    started = time.perf_counter()
    response = client.get("/health", **TOKEN)
    elapsed = time.perf_counter() - started
    # then: 503 with the cache timed out, long before the cache's own 2 s timeout
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == {"status": "error", "error": "timeout"}
    assert body["checks"]["database"]["status"] == "ok"
    assert elapsed < 1.5


# --- /metrics ------------------------------------------------------------------------------------


def test_metrics_refuse_anonymous_callers(client):
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert "django_http" not in response.content.decode()


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer test-health-token", "Basic Zm9vOmJhcg==", "Basic !!"])
def test_metrics_refuse_wrong_credentials(client, header):
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401


def test_metrics_accept_the_token(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer test-metrics-token")

    assert response.status_code == 200
    assert "django_http_requests" in response.content.decode()


def test_metrics_accept_basic_auth_from_the_environment(client, settings):
    settings.METRICS_BASIC_AUTH = "prometheus:s3cret-scrape"
    good = base64.b64encode(b"prometheus:s3cret-scrape").decode()
    bad = base64.b64encode(b"prometheus:guess").decode()

    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {good}").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {bad}").status_code == 401


def test_metrics_without_configured_credentials_are_open_only_in_development(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_BASIC_AUTH = ""
    assert client.get("/metrics").status_code == 401

    settings.DEBUG = True
    assert client.get("/metrics").status_code == 200


def test_a_slow_migration_check_is_pending_not_a_failure(client, settings, monkeypatch):
    # given: the migration graph takes longer than the deadline to load (a cold process)
    from django.db.migrations.executor import MigrationExecutor

    release = threading.Event()
    real_plan = MigrationExecutor.migration_plan

    def slow_plan(self, targets, clean_start=False):
        release.wait(10)
        return real_plan(self, targets, clean_start)

    monkeypatch.setattr(MigrationExecutor, "migration_plan", slow_plan)
    settings.HEALTH_TIMEOUT_SECONDS = 0.5
    # when
    response = client.get("/health", **TOKEN)
    release.set()
    health.wait_for_checks()
    # then: 200, the migrations check pending while the database answered; the next call has its answer
    assert response.status_code == 200
    assert response.json()["checks"]["migrations"]["status"] == "pending"
    assert client.get("/health", **TOKEN).json()["checks"]["migrations"]["status"] == "ok"
