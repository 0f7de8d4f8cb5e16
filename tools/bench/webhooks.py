"""Webhook delivery throughput: outbox events → deliveries → signed POSTs to a local receiver.

Two figures, both against an HTTP/1.1 receiver on 127.0.0.1 (``tools.bench.webhook_receiver``, a process of
its own, keep-alive like any production server, counting requests and TCP connections):

- ``webhooks.webhook_fan_out`` — one process doing a worker's work in turn, inside the bench's rolled-back
  transaction: publish events, dispatch them through the outbox (the catch-all handler fans each out to every
  endpoint), then send every endpoint's due deliveries in batches (``webhook_deliveries_send``, what the
  ``deliver_webhooks`` task runs). Comparable with the figure before batching (98/s, one request and one new
  connection per delivery).
- ``webhooks.webhook_worker_end_to_end`` — the real pipeline with the documented default worker (``celery -A
  olympus worker --concurrency 2`` on the ``default`` and ``webhooks`` queues, prefork): this process commits
  the events; the worker relays the outbox, fans out and delivers; the clock stops when the receiver has
  answered the last delivery and its row is recorded as delivered. Target: ≥ 300 deliveries/s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.test import override_settings

from apps.core import events
from apps.organizations.models import Organization
from apps.webhooks import services, signing
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from tools.bench.runner import BASE_DIR

EVENTS = 200
ENDPOINTS = 5
TARGET_PER_SECOND = 300
WORKER_CONCURRENCY = 2  # the Procfile's worker


class _Server:
    """The receiver (``tools.bench.webhook_receiver``) in a process of its own, as a real one would be."""

    def __enter__(self) -> _Server:
        command = [sys.executable, "-m", "tools.bench.webhook_receiver"]
        self.process = subprocess.Popen(command, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)  # noqa: S603
        self.port = int(self.process.stdout.readline())  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    @property
    def counts(self) -> tuple[int, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/counts", timeout=10) as answer:  # noqa: S310
            counts = json.load(answer)
        return counts["requests"], counts["connections"]


def _organization_with_endpoints(url: str, count: int = ENDPOINTS) -> Organization:
    organization = Organization.objects.create(name="Bench webhooks", slug=f"bench-webhooks-{time.time_ns()}")
    WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(organization=organization, url=url, secret=signing.generate_secret()) for _ in range(count)
    )
    return organization


def webhook_fan_out() -> dict[str, Any]:
    with (
        _Server() as server,
        override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"], WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"]),
    ):
        organization = _organization_with_endpoints(server.url)
        endpoint_ids = list(organization.webhook_endpoints.values_list("id", flat=True))
        started, cpu_started = time.perf_counter(), time.process_time()
        for n in range(EVENTS):
            event = events.publish_event(
                event_type="order.created", payload={"order_id": str(n)}, organization_id=organization.id
            )
            events.outbox_dispatch(event_id=event.id)
        fanned = time.perf_counter()
        count, batches, per_batch = 0, 0, []
        for endpoint_id in endpoint_ids:  # each endpoint's batches in turn, as the queued tasks would run
            while True:
                one = time.perf_counter()
                results = services.webhook_deliveries_send(endpoint_id=endpoint_id)
                if not results:
                    break
                per_batch.append((time.perf_counter() - one) / len(results))
                batches += 1
                count += len(results)
                failed = [r for r in results if r.outcome != "succeeded"]
                if failed:
                    raise RuntimeError(f"not delivered: {failed[:3]}")
        delivered, cpu = time.perf_counter(), time.process_time() - cpu_started
        requests, connections = server.counts
    total = WebhookDelivery.objects.filter(organization=organization).count()
    if count != total:
        raise RuntimeError(f"{count} of {total} deliveries sent")
    return {
        "events": EVENTS,
        "endpoints": ENDPOINTS,
        "deliveries": count,
        "batches": batches,
        "receiver_requests": requests,
        "receiver_connections": connections,
        "fan_out_deliveries_per_second": round(count / (fanned - started), 1),
        "delivered_per_second": round(count / (delivered - fanned), 1),
        "delivery_median_ms": round(statistics.median(per_batch) * 1000, 2),
        "one_process_end_to_end_per_second": round(count / (delivered - started), 1),
        # This process's CPU per delivery (fan-out included, receiver and PostgreSQL not): what load cannot inflate.
        "cpu_ms_per_delivery": round(cpu * 1000 / count, 2),
    }


def webhook_worker_end_to_end() -> dict[str, Any]:
    with _Server() as server:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "olympus.settings.dev",
            "DEBUG": "false",
            "WEBHOOK_ALLOW_HTTP_HOSTS": "127.0.0.1",
            "WEBHOOK_ALLOWED_ADDRESSES": "127.0.0.1/32",
            "LOG_LEVEL": "WARNING",  # the worker logs through LOGGING: a line per task would bury the figures
        }
        command = [sys.executable, "-m", "celery", "-A", "olympus", "--quiet", "worker", "-l", "warning", "-Q"]
        command += ["default,webhooks", "--concurrency", str(WORKER_CONCURRENCY), "-n", f"bench-{os.getpid()}@%h"]
        worker = subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: S603
        organizations = []
        try:
            # Warm-up: the worker is up, both children have served a relay and a batch.
            warm = _organization_with_endpoints(server.url, count=WORKER_CONCURRENCY)
            organizations.append(warm)
            for n in range(10):
                events.publish_event(event_type="order.created", payload={"n": n}, organization_id=warm.id)
            _wait_delivered(warm, 10 * WORKER_CONCURRENCY, timeout=120)
            organization = _organization_with_endpoints(server.url)
            organizations.append(organization)
            before_requests, before_connections = server.counts
            started = time.perf_counter()
            for n in range(EVENTS):
                events.publish_event(
                    event_type="order.created", payload={"order_id": str(n)}, organization_id=organization.id
                )
            published = time.perf_counter()
            _wait_delivered(organization, EVENTS * ENDPOINTS, timeout=300)
            delivered = time.perf_counter()
            requests, connections = server.counts
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            for organization in organizations:
                _remove(organization)
    count = EVENTS * ENDPOINTS
    per_second = count / (delivered - started)
    return {
        "worker_concurrency": WORKER_CONCURRENCY,
        "deliveries": count,
        "receiver_requests": requests - before_requests,
        "receiver_connections": connections - before_connections,
        "publish_seconds": round(published - started, 2),
        "end_to_end_seconds": round(delivered - started, 2),
        "end_to_end_deliveries_per_second": round(per_second, 1),
        "target": f">= {TARGET_PER_SECOND}/s",
        "met": per_second >= TARGET_PER_SECOND,
    }


webhook_worker_end_to_end.commits = True  # type: ignore[attr-defined]


def _wait_delivered(organization: Organization, count: int, *, timeout: float) -> None:
    deliveries = WebhookDelivery.objects.filter(organization=organization, status=WebhookDelivery.Status.SUCCEEDED)
    deadline = time.monotonic() + timeout
    while (done := deliveries.count()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {count} deliveries delivered after {timeout} s")
        time.sleep(0.02)


def _remove(organization: Organization) -> None:
    from apps.core.models import OutboxEvent

    OutboxEvent.objects.filter(organization_id=organization.id).delete()
    organization.delete()


BENCHMARKS = [webhook_fan_out, webhook_worker_end_to_end]
