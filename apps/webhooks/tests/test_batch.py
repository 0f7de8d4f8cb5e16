"""Fan-out deliveries sent by endpoint in batches: one lease for many, oldest first, over one kept-alive
connection (a real HTTP/1.1 server on the loopback counts the TCP connections), each attempt still written
before its own request; a batch that stops early leaves the rest due without counting them."""

import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from apps.webhooks import services, transport
from apps.webhooks.models import WebhookAttempt, WebhookDelivery
from apps.webhooks.services._common import batch_queued_key
from apps.webhooks.services.delivery import _claim
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


class KeepAliveReceiver(BaseHTTPRequestHandler):
    """Answers with the status the server is told to, keeps connections open (HTTP/1.1), counts both."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.webhook_ids.append(self.headers["webhook-id"])
            # The attempt row is on record before the request arrives.
            self.server.states_seen.append(self.server.attempt_state(self.headers["webhook-id"]))
            status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def keepalive_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveReceiver)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.connections, server.webhook_ids, server.states_seen, server.statuses = 0, [], [], []
    server.attempt_state = lambda webhook_id: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    transport.close_connections()
    yield server
    transport.close_connections()
    server.shutdown()
    server.server_close()


@pytest.fixture
def batch_endpoint(organization, owner, keepalive_server):
    return WebhookEndpointFactory(organization=organization, url=f"http://127.0.0.1:{keepalive_server.server_port}/h")


def due_deliveries(endpoint, count):
    """``count`` due deliveries created a second apart, oldest first."""
    now = timezone.now()
    return [
        WebhookDeliveryFactory(endpoint=endpoint, created_at=now - timedelta(seconds=count - n), next_attempt_at=now)
        for n in range(count)
    ]


def attempt_state(webhook_id):
    """From the receiver's thread (its own database connection): the state of the delivery's attempt row."""
    try:
        return WebhookAttempt.objects.get(delivery_id=webhook_id).state
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)  # the receiver's thread reads the attempt rows: committed data
def test_a_batch_sends_every_due_delivery_oldest_first_over_one_connection(keepalive_server, batch_endpoint):
    # given: five due deliveries created out of id order, one not due, one of another endpoint
    deliveries = due_deliveries(batch_endpoint, 5)
    later = WebhookDeliveryFactory(endpoint=batch_endpoint, next_attempt_at=timezone.now() + timedelta(minutes=5))
    other = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=batch_endpoint.organization))
    keepalive_server.attempt_state = attempt_state
    # when
    results = services.webhook_deliveries_send(endpoint_id=batch_endpoint.id)
    # then: in creation order, one TCP connection for all five, each attempt written before its request
    assert [r.outcome for r in results] == ["succeeded"] * 5
    assert keepalive_server.webhook_ids == [str(d.id) for d in deliveries]
    assert keepalive_server.connections == 1
    assert keepalive_server.states_seen == [WebhookAttempt.State.SENDING] * 5
    rows = WebhookAttempt.objects.filter(delivery__endpoint=batch_endpoint)
    assert sorted(rows.values_list("state", "status_code", "succeeded")) == [("finished", 200, True)] * 5
    assert set(WebhookDelivery.objects.filter(pk__in=[d.id for d in deliveries]).values_list("attempts", "status")) == {
        (1, "succeeded")
    }
    later.refresh_from_db()
    other.refresh_from_db()
    assert (later.status, later.attempts) == (other.status, other.attempts) == ("pending", 0)


def test_connections_are_reused_across_batches_and_single_attempts(keepalive_server, batch_endpoint):
    first, second, _third = due_deliveries(batch_endpoint, 3)
    services.webhook_delivery_attempt(delivery_id=first.id)
    services.webhook_delivery_attempt(delivery_id=second.id)
    services.webhook_deliveries_send(endpoint_id=batch_endpoint.id)
    assert len(keepalive_server.webhook_ids) == 3
    assert keepalive_server.connections == 1


def test_a_connection_idle_too_long_is_not_reused(keepalive_server, batch_endpoint, settings):
    settings.WEBHOOK_KEEPALIVE_IDLE_SECONDS = 0  # any pause is too long
    first, second = due_deliveries(batch_endpoint, 2)
    services.webhook_delivery_attempt(delivery_id=first.id)
    services.webhook_delivery_attempt(delivery_id=second.id)
    assert len(keepalive_server.webhook_ids) == 2
    assert keepalive_server.connections == 2


def test_a_full_batch_queues_the_next_one(keepalive_server, batch_endpoint):
    # given: five due deliveries and batches of two
    deliveries = due_deliveries(batch_endpoint, 5)
    # when: the first batch (the next ones run at once: tasks are eager in the tests)
    results = services.webhook_deliveries_send(endpoint_id=batch_endpoint.id, limit=2)
    # then: this batch sent two, the queued batches the rest, still oldest first
    assert len(results) == 2
    assert keepalive_server.webhook_ids == [str(d.id) for d in deliveries]
    assert not WebhookDelivery.objects.filter(endpoint=batch_endpoint, status="pending").exists()
    assert cache.get(batch_queued_key(batch_endpoint.id)) is None


def test_leased_deliveries_are_not_sent_by_a_batch(keepalive_server, batch_endpoint):
    taken, free = due_deliveries(batch_endpoint, 2)
    assert _claim(taken.id) is not None  # another worker's attempt is under way
    services.webhook_deliveries_send(endpoint_id=batch_endpoint.id)
    assert keepalive_server.webhook_ids == [str(free.id)]


def test_a_410_stops_the_batch_and_the_rest_are_dead_lettered_unsent(keepalive_server, batch_endpoint):
    # given: the receiver answers 410 to the first request
    keepalive_server.statuses = [410]
    deliveries = due_deliveries(batch_endpoint, 4)
    # when
    results = services.webhook_deliveries_send(endpoint_id=batch_endpoint.id)
    # then: one request; the endpoint is disabled and the next batch dead-letters the rest without a request
    assert [r.outcome for r in results] == ["gone"]
    assert keepalive_server.webhook_ids == [str(deliveries[0].id)]
    batch_endpoint.refresh_from_db()
    assert not batch_endpoint.is_active
    rows = WebhookDelivery.objects.filter(endpoint=batch_endpoint).values_list("status", "attempts")
    assert list(rows) == [("failed", 1)] * 4
    assert (
        list(
            WebhookAttempt.objects.filter(delivery_id__in=[d.id for d in deliveries[1:]]).values_list(
                "error", flat=True
            )
        )
        == ["The endpoint is disabled."] * 3
    )


def test_no_answer_stops_the_batch_and_the_rest_are_tried_without_losing_an_attempt(organization, owner):
    # given: an endpoint where nothing listens (connection refused), three due deliveries
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = WebhookEndpointFactory(organization=organization, url=f"http://127.0.0.1:{port}/h")
    deliveries = due_deliveries(endpoint, 3)
    # when
    results = services.webhook_deliveries_send(endpoint_id=endpoint.id)
    # then: this batch made one attempt and stopped; the batches queued after it tried each of the others once
    assert [r.outcome for r in results] == ["retry"]
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=30)  # the retry schedule, not the lease
        attempt = delivery.attempt_log.get()
        assert attempt.state == WebhookAttempt.State.FINISHED
        assert attempt.status_code is None
        assert attempt.error


def test_fan_out_sends_by_endpoint_batch(
    keepalive_server, batch_endpoint, organization, django_capture_on_commit_callbacks
):
    from apps.core import events
    from apps.core.models import OutboxEvent

    second = WebhookEndpointFactory(organization=organization, url=batch_endpoint.url)
    OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).update(status=OutboxEvent.Status.DISPATCHED)
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish_event(event_type="order.created", payload={"n": 1}, organization_id=organization.id)
    deliveries = WebhookDelivery.objects.filter(event_id=event.id)
    assert {d.endpoint_id for d in deliveries} == {batch_endpoint.id, second.id}
    assert sorted(keepalive_server.webhook_ids) == sorted(str(d.id) for d in deliveries)
    assert {d.status for d in deliveries} == {"succeeded"}


def test_a_success_opens_the_next_attempt_in_its_own_statement(
    keepalive_server, batch_endpoint, django_assert_num_queries
):
    # given: four due deliveries; the receiver fails the second one
    deliveries = due_deliveries(batch_endpoint, 4)
    keepalive_server.statuses = [200, 500, 200, 200]

    # when: the lease (1 statement: lock, close cut-off attempts, lease, with the endpoint), then per delivery:
    # the first opened on its own; each success closes its attempt and opens the next one's in one statement;
    # the failure is recorded in its own transaction (5), so the third is opened on its own again; the last
    # success has no next one to open
    with django_assert_num_queries(1 + 1 + 1 + 5 + 1 + 1 + 1):
        results = services.webhook_deliveries_send(endpoint_id=batch_endpoint.id)

    # then: every delivery tried once, each attempt closed, none left "sending"
    assert [r.outcome for r in results] == ["succeeded", "retry", "succeeded", "succeeded"]
    attempts = WebhookAttempt.objects.filter(delivery__endpoint=batch_endpoint).order_by("delivery__created_at")
    assert list(attempts.values_list("delivery_id", "state", "status_code")) == [
        (d.id, "finished", status) for d, status in zip(deliveries, [200, 500, 200, 200], strict=True)
    ]
    assert list(
        WebhookDelivery.objects.filter(endpoint=batch_endpoint).order_by("created_at").values_list("attempts", "status")
    ) == [(1, "succeeded"), (1, "pending"), (1, "succeeded"), (1, "succeeded")]


def test_the_delivered_records_are_the_statements_that_skip_the_flush_wait():
    from apps.webhooks.services import delivery

    skip = [delivery.DELIVERED, delivery.DELIVERED_AND_OPEN_NEXT]
    wait = [delivery.LEASE_BY_ENDPOINT, delivery.LEASE_ONE, delivery.OPEN]
    assert [bool(statement._prefix) for statement in skip + wait] == [True, True, False, False, False]
