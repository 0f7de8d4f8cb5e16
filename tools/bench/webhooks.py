"""Webhook fan-out throughput: outbox events → deliveries → signed POSTs to a local receiver.

Runs inside the bench's rolled-back transaction, in this one process (what a
single worker process does): publish events, dispatch them through the
outbox (the catch-all handler fans each out to every endpoint), then make
every delivery's attempt against an HTTP server on 127.0.0.1 (a thread here).
"""

from __future__ import annotations

import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import override_settings

from apps.core import events
from apps.organizations.models import Organization
from apps.webhooks import services, signing
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint

EVENTS = 200
ENDPOINTS = 5


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def webhook_fan_out() -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"], WEBHOOK_ALLOW_HTTP_HOSTS=["127.0.0.1"]):
            return _run(f"http://127.0.0.1:{server.server_address[1]}/hooks")
    finally:
        server.shutdown()
        server.server_close()


def _run(url: str) -> dict:
    organization = Organization.objects.create(name="Bench webhooks", slug=f"bench-webhooks-{time.time_ns()}")
    WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(organization=organization, url=url, secret=signing.generate_secret()) for _ in range(ENDPOINTS)
    )
    started = time.perf_counter()
    for n in range(EVENTS):
        event = events.publish_event(
            event_type="order.created", payload={"order_id": str(n)}, organization_id=organization.id
        )
        events.outbox_dispatch(event_id=event.id)
    fanned = time.perf_counter()
    ids = list(WebhookDelivery.objects.filter(organization=organization).values_list("id", flat=True))
    latencies = []
    for delivery_id in ids:
        one = time.perf_counter()
        result = services.webhook_delivery_attempt(delivery_id=delivery_id)
        latencies.append(time.perf_counter() - one)
        if result is None or result.outcome != "succeeded":
            raise RuntimeError(f"delivery {delivery_id} was not delivered: {result}")
    delivered = time.perf_counter()
    return {
        "events": EVENTS,
        "endpoints": ENDPOINTS,
        "deliveries": len(ids),
        "fan_out_events_per_second": round(EVENTS / (fanned - started), 1),
        "fan_out_deliveries_per_second": round(len(ids) / (fanned - started), 1),
        "delivered_per_second": round(len(ids) / (delivered - fanned), 1),
        "delivery_median_ms": round(statistics.median(latencies) * 1000, 2),
        "end_to_end_deliveries_per_second": round(len(ids) / (delivered - started), 1),
    }


BENCHMARKS = [webhook_fan_out]
