"""Issue 17: one order placement is one trace, from the HTTP request through the outbox and a
real Celery worker to the webhook POST, which carries ``traceparent`` to the receiver.

Spans go to the SDK's in-memory exporter; the worker runs in a thread of this process
(``celery.contrib.testing.worker``), consuming from the real Redis broker on a queue of its
own, so its spans land in the same exporter.
"""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from werkzeug import Response

from apps.catalog.tests.factories import ProductFactory
from apps.core import tracing
from apps.orders.tests.factories import ADDRESS
from apps.webhooks.tests.factories import WebhookEndpointFactory
from olympus.celery import app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def spans():
    """Tracing on with an in-memory exporter; database connections opened afresh so they are traced."""
    exporter = InMemorySpanExporter()
    connections.close_all()
    tracing.tracing_init(exporter=exporter, set_global=False)
    try:
        yield exporter
    finally:
        tracing.tracing_shutdown()
        connections.close_all()


@pytest.fixture
def own_queue():
    """Every task goes to a queue no other test's worker consumes (the broker database is shared)."""
    queue = f"test-tracing-{uuid.uuid4().hex[:8]}"
    routes = app.conf.task_routes
    app.conf.task_routes = {"*": {"queue": queue}}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # the cached Router holds the old table
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = True
        app.conf.task_routes = routes
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)


def by_name(trace, name):
    return [s for s in trace if s.name == name]


def test_an_order_placement_is_one_trace_from_the_request_to_the_webhook(
    spans, own_queue, httpserver, organization, owner, user, api_client_for
):
    # given: an endpoint subscribed to order events, a product, and a worker on its own queue
    received = []

    def receive(request):
        received.append(dict(request.headers))
        return Response("ok", status=200)

    httpserver.expect_request("/hooks", method="POST").respond_with_handler(receive)
    WebhookEndpointFactory(organization=organization, url=httpserver.url_for("/hooks"), event_types=["order.*"])
    product = ProductFactory(organization=organization)
    client = api_client_for(user)
    body = {
        "organization": str(organization.pk),
        "items": [{"product": str(product.pk), "quantity": 1}],
        "shipping_address": ADDRESS,
    }
    with start_worker(app, pool="solo", queues=[own_queue], perform_ping_check=False, shutdown_timeout=10):
        # when: the order is placed over REST
        response = client.post("/api/v1/orders/", body, format="json")
        assert response.status_code == 201, response.content
        # then the webhook arrives, and the delivery task's span ends
        assert wait_for(lambda: received), "the webhook never arrived"
        assert wait_for(
            lambda: any(s.name == "run/apps.webhooks.tasks.deliver_webhooks" for s in spans.get_finished_spans())
        ), "the delivery task span never ended"

    finished = spans.get_finished_spans()
    request = next(s for s in finished if s.kind == SpanKind.SERVER and s.name.startswith("POST api/v1/orders/"))
    trace_id = request.context.trace_id
    trace = [s for s in finished if s.context.trace_id == trace_id]
    ids = {s.context.span_id: s for s in trace}

    # one trace: a single root (the request); every other span's parent is in it
    roots = [s for s in trace if s.parent is None]
    assert roots == [request]
    assert all(s.parent.span_id in ids for s in trace if s.parent is not None)

    # web and database: the request's own queries
    queries = [s for s in trace if s.attributes.get("db.system") == "postgresql"]
    assert any(s.parent.span_id == request.context.span_id for s in queries)

    # the outbox event continues the request's trace inside the relay task, linked to it
    [relay] = by_name(trace, "run/apps.core.tasks.outbox_relay")
    [outbox] = by_name(trace, "outbox order.created")
    assert outbox.parent.span_id == request.context.span_id
    assert [link.context.span_id for link in outbox.links] == [relay.context.span_id]

    # the delivery task was queued from the event's span and ran in the worker
    [publish] = by_name(trace, "apply_async/apps.webhooks.tasks.deliver_webhooks")
    assert publish.parent.span_id == outbox.context.span_id
    [deliver] = by_name(trace, "run/apps.webhooks.tasks.deliver_webhooks")
    assert deliver.kind == SpanKind.CONSUMER
    assert deliver.parent.span_id == publish.context.span_id

    # the webhook POST is a client span of the delivery, and the receiver got its traceparent
    [post] = [s for s in trace if s.kind == SpanKind.CLIENT and s.name == "POST"]
    assert post.parent.span_id == deliver.context.span_id
    traceparent = {k.lower(): v for k, v in received[0].items()}["traceparent"]
    version, sent_trace, sent_parent, _flags = traceparent.split("-")
    assert (version, sent_trace, sent_parent) == ("00", f"{trace_id:032x}", f"{post.context.span_id:016x}")
