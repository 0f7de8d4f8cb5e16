"""The async side on /metrics and /health: task counters and durations, queue depths, webhook outcomes."""

import re

import pytest
from celery import shared_task

from apps.core import health
from apps.jobs import metrics as metrics_module
from apps.webhooks import services
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from olympus.celery import app

pytestmark = pytest.mark.django_db


@shared_task(name="apps.jobs.tests.test_observability.quick")
def quick() -> int:
    return 1


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = ",".join(sorted(p for p in (match.group(2) or "").split(",") if p))
        if found == wanted:
            return float(match.group(3))
    return 0.0


def metrics(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer test-metrics-token")
    assert response.status_code == 200
    return response.content.decode()


def test_task_runs_are_counted_and_timed(client):
    # given
    before = metrics(client)
    task = "apps.jobs.tests.test_observability.quick"
    # when
    quick.delay()
    quick.delay()
    # then
    after = metrics(client)
    assert (
        sample(after, "olympus_celery_tasks_total", task=task, state="succeeded")
        - sample(before, "olympus_celery_tasks_total", task=task, state="succeeded")
        == 2
    )
    assert (
        sample(after, "olympus_celery_task_duration_seconds_count", task=task)
        - sample(before, "olympus_celery_task_duration_seconds_count", task=task)
        == 2
    )
    assert sample(after, "olympus_celery_task_duration_seconds_bucket", task=task, le="+Inf") >= 2


def test_queue_depth_per_queue_is_exposed(client):
    # given: two messages waiting on a queue no worker consumes in tests
    queue = "analytics"
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
    app.conf.task_always_eager = False
    try:
        quick.apply_async(queue=queue)
        quick.apply_async(queue=queue)
    finally:
        app.conf.task_always_eager = True
    try:
        # when
        text = metrics(client)
        # then
        assert sample(text, "olympus_celery_queue_depth", queue=queue) == 2
        assert 'olympus_celery_queue_depth{queue="webhooks"}' in text
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


def test_webhook_outcomes_and_latency_are_exposed(client, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    endpoint = WebhookEndpointFactory(url=httpserver.url_for("/hooks"))
    before = metrics(client)
    services.webhook_delivery_attempt(delivery_id=WebhookDeliveryFactory(endpoint=endpoint).id)
    after = metrics(client)
    delta = sample(after, "olympus_webhook_deliveries_total", outcome="succeeded") - sample(
        before, "olympus_webhook_deliveries_total", outcome="succeeded"
    )
    assert delta == 1
    assert sample(after, "olympus_webhook_delivery_latency_seconds_count") >= 1


def test_a_batch_counts_each_of_its_deliveries_in_one_redis_round_trip(client, httpserver, monkeypatch):
    # given: three due deliveries of one endpoint, sent as one batch
    httpserver.expect_request("/hooks").respond_with_data("ok")
    endpoint = WebhookEndpointFactory(url=httpserver.url_for("/hooks"))
    for _ in range(3):
        WebhookDeliveryFactory(endpoint=endpoint, organization=endpoint.organization)
    before = metrics(client)
    pipelines = []
    real = metrics_module._redis

    def counting_redis():
        connection = real()
        original = connection.pipeline

        def pipeline(*args, **kwargs):
            pipelines.append(1)
            return original(*args, **kwargs)

        connection.pipeline = pipeline
        return connection

    monkeypatch.setattr(metrics_module, "_redis", counting_redis)

    # when
    results = services.webhook_deliveries_send(endpoint_id=endpoint.pk)

    # then: every delivery counted, and the counting took one pipeline
    assert [r.outcome for r in results] == ["succeeded"] * 3
    assert len(pipelines) == 1
    after = metrics(client)
    for name, labels in (
        ("olympus_webhook_deliveries_total", {"outcome": "succeeded"}),
        ("olympus_webhook_delivery_latency_seconds_count", {}),
    ):
        assert sample(after, name, **labels) - sample(before, name, **labels) == 3


def test_health_reports_workers_and_queues_degraded_not_failed(client, settings):
    # given: a threshold any depth exceeds (workers: a real-worker test may run beside this one, or none)
    settings.HEALTH_QUEUE_DEPTH_THRESHOLD = -1
    client.get("/health")  # starts the background worker ping and queue reading
    health.wait_for_refresh()
    # when
    response = client.get("/health", HTTP_AUTHORIZATION="Bearer test-health-token")
    # then: still 200, but "degraded", with the reasons
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    workers = body["checks"]["workers"]
    assert workers["status"] == ("degraded" if workers["workers"] == 0 else "ok")
    assert body["checks"]["queues"]["status"] == "degraded"
    assert set(body["checks"]["queues"]["depths"]) == {
        "default",
        "emails",
        "webhooks",
        "orders",
        "analytics",
        "maintenance",
    }
    assert all(body["checks"][name]["status"] == "ok" for name in ("database", "cache", "broker", "migrations"))
