"""Issue 17: OpenTelemetry is off and free unless OTEL_EXPORTER_OTLP_ENDPOINT is set; on, the trace
id is in the error envelope and in log lines, outbox events carry the trace on, and spans go out
over OTLP. The whole path through a real worker: apps/webhooks/tests/test_tracing.py."""

import io
import json
import logging

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from apps.core import events, tracing
from apps.core.logging import JsonFormatter, RedactingFilter, ServiceFilter
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"


@pytest.fixture
def spans():
    """Tracing on with the SDK's in-memory exporter (the test's open database connection stays untraced)."""
    exporter = InMemorySpanExporter()
    tracing.tracing_init(exporter=exporter, set_global=False)
    try:
        yield exporter
    finally:
        tracing.tracing_shutdown()


@pytest.fixture
def json_lines():
    """The production handler on the root logger: what every line of the process goes through."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ServiceFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().strip().splitlines()]
    finally:
        root.removeHandler(handler)


def test_tracing_is_off_and_free_without_an_endpoint(client):
    # given: the suite's settings, no OTLP endpoint
    assert not django_settings.OTEL_EXPORTER_OTLP_ENDPOINT
    # then: nothing instrumented, nothing stored, nothing added to error bodies
    assert tracing.tracing_init() is False
    assert not tracing.enabled()
    assert OTEL_MIDDLEWARE not in django_settings.MIDDLEWARE
    assert tracing.carrier() == {}
    assert tracing.current_ids() is None
    assert OutboxEvent(event_type="x").trace_context == {}
    error = client.get("/api/v1/nothing-here/").json()["error"]
    assert "trace_id" not in error
    assert error["request_id"]


def test_the_error_envelope_and_the_log_lines_carry_the_requests_trace_id(spans, client, json_lines):
    # when
    response = client.get("/api/v1/nothing-here/")
    # then: the envelope names the request span's trace beside the request id
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    trace_id = f"{server.context.trace_id:032x}"
    error = response.json()["error"]
    assert error["trace_id"] == trace_id
    assert error["request_id"] == response["X-Request-ID"]
    # and the access line, logged inside the span, names it too, with the service fields
    [access] = [line for line in json_lines() if line["logger"] == "olympus.access"]
    assert access["trace_id"] == trace_id
    assert len(access["span_id"]) == 16
    assert (access["service"], access["environment"]) == ("olympus", django_settings.ENVIRONMENT)


def test_an_outbox_event_stores_the_trace_of_the_transaction_that_wrote_it(spans):
    with tracing.continued(None, "a request"):
        trace_id, _ = tracing.current_ids()
        with transaction.atomic():
            event = events.publish_event(event_type="test.traced", payload={})
    stored = OutboxEvent.objects.get(pk=event.pk).trace_context
    assert stored["traceparent"].split("-")[1] == trace_id


def test_the_relay_continues_the_stored_trace_and_links_to_its_own(spans):
    # given: an event written inside one trace
    with tracing.continued(None, "the request"), transaction.atomic():
        event = events.publish_event(event_type="test.traced", payload={})
    [request] = [s for s in spans.get_finished_spans() if s.name == "the request"]
    # when: the relay, running in a trace of its own, dispatches it
    with tracing.continued(None, "the relay task"):
        assert events.outbox_dispatch(event_id=event.pk)
    # then
    finished = {s.name: s for s in spans.get_finished_spans()}
    outbox, relay = finished["outbox test.traced"], finished["the relay task"]
    assert outbox.context.trace_id == request.context.trace_id
    assert outbox.parent.span_id == request.context.span_id
    assert [link.context.span_id for link in outbox.links] == [relay.context.span_id]
    assert outbox.attributes["olympus.event_id"] == str(event.pk)


def test_a_trace_never_starts_at_a_bare_client_call(spans):
    # when: Redis is called outside any request or task (as a worker polls its broker), then inside one
    cache.get("tracing-test")
    assert spans.get_finished_spans() == ()
    with tracing.continued(None, "a task"):
        cache.get("tracing-test")
    # then: only the call inside it is a span
    finished = spans.get_finished_spans()
    assert sorted(s.name for s in finished) == ["GET", "a task"]
    assert {s.context.trace_id for s in finished} == {finished[-1].context.trace_id}


def test_spans_are_exported_over_otlp_http_when_an_endpoint_is_set(settings, monkeypatch, httpserver, client):
    # given: a collector (a local HTTP server) named by the standard variable
    httpserver.expect_request("/v1/traces", method="POST").respond_with_data(b"", status=200)
    endpoint = httpserver.url_for("/").rstrip("/")
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    # when: tracing starts from the settings alone, a request is served, and the batch is flushed
    assert tracing.tracing_init(set_global=False) is True
    try:
        assert client.get("/live").status_code == 200
    finally:
        tracing.tracing_shutdown()
    # then: the collector received the request span with the service's resource
    [(request, _)] = httpserver.log
    assert request.headers["Content-Type"] == "application/x-protobuf"
    export = ExportTraceServiceRequest.FromString(request.get_data())
    [resource_spans] = export.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "olympus"
    assert resource["service.version"] == django_settings.SERVICE_VERSION
    assert resource["deployment.environment"] == django_settings.ENVIRONMENT
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert "GET live" in names
