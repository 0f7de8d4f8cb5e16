"""OpenTelemetry tracing: on only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, off and free otherwise.

On, every process (web and worker) instruments Django, psycopg, Celery, Redis and urllib3,
and exports spans over OTLP/HTTP. One order placement is then one trace: the HTTP request
span; its queries; the outbox event, which stores the W3C trace context of the transaction
that wrote it (:func:`carrier`) so the relay that handles it later continues that trace
(:func:`continued`); the tasks Celery propagates; and the webhook POST, which carries
``traceparent`` to the receiver.

Off, nothing is imported beyond this module, nothing is instrumented, and the helpers below
return at their first line.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("olympus.tracing")

TRACER_NAME = "olympus"
_provider: TracerProvider | None = None


def enabled() -> bool:
    return _provider is not None


def tracing_init(*, exporter: SpanExporter | None = None, set_global: bool = True) -> bool:
    """Start tracing in this process; True when it is on.

    Without ``exporter`` it starts only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and sends
    batches over OTLP/HTTP (the exporter reads the endpoint, headers and timeout from the
    standard ``OTEL_EXPORTER_OTLP_*`` variables). Tests pass the SDK's in-memory exporter,
    which gets every span as it ends, and ``set_global=False`` (the global provider can be
    set once per process), then call :func:`tracing_shutdown`.
    """
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create(
        {
            "service.name": settings.SERVICE_NAME,
            "service.version": settings.SERVICE_VERSION,
            "deployment.environment": settings.ENVIRONMENT,
        }
    )
    provider = TracerProvider(resource=resource, sampler=_sampler())
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    _instrument(provider)
    _provider = provider
    return True


def tracing_shutdown() -> None:
    """Undo :func:`tracing_init`: remove the instrumentation and flush the spans (tests)."""
    global _provider
    if _provider is None:
        return
    for instrumentor in _instrumentors():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    _provider.shutdown()
    _provider = None


def _instrumentors() -> list[Any]:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    return [
        DjangoInstrumentor(),
        PsycopgInstrumentor(),
        CeleryInstrumentor(),
        RedisInstrumentor(),
        URLLib3Instrumentor(),
    ]


def _instrument(provider: TracerProvider) -> None:
    for instrumentor in _instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, skip_dep_check=True)


def _sampler() -> Any:
    """Every trace starts at a request, a task or a span of ours, never at a bare client call.

    A worker polls Redis and beat reads its schedule from PostgreSQL all the time; as roots
    those client spans would be thousands of one-span traces. Inside a trace, every span is kept.
    """
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
    from opentelemetry.trace import Link, SpanKind, TraceState
    from opentelemetry.util.types import Attributes

    class NoClientRoots(Sampler):
        def should_sample(
            self,
            parent_context: Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: TraceState | None = None,
        ) -> SamplingResult:
            if kind == SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return "NoClientRoots"

    return ParentBased(root=NoClientRoots())


def carrier() -> dict[str, str]:
    """The current W3C trace context (``traceparent``, ``tracestate``) to store or send; empty when off."""
    if _provider is None:
        return {}
    from opentelemetry.propagate import inject

    headers: dict[str, str] = {}
    inject(headers)
    return headers


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, or None (tracing off, or no span)."""
    if _provider is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def current_trace_id() -> str | None:
    ids = current_ids()
    return ids[0] if ids else None


@contextlib.contextmanager
def continued(stored: Mapping[str, str] | None, name: str, **attributes: str) -> Iterator[None]:
    """A span ``name`` in the trace ``stored`` came from (a new trace without it), linked to the current span.

    The outbox relay handles events from many requests in one task: each event's work
    belongs to the trace of the transaction that wrote it, and the link leads back to the
    relay task that did it.
    """
    if _provider is None:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    here = trace.get_current_span().get_span_context()
    links = [trace.Link(here)] if here.is_valid else []
    parent = extract(dict(stored or {}))
    tracer = _provider.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(name, context=parent, links=links, attributes=attributes):
        yield
