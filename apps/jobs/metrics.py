"""Metrics of the asynchronous side, shared by every process through Redis.

Workers, beat and web run as separate processes (separate containers in
docker-compose), so per-process prometheus_client counters would each see
their own slice. Celery signal receivers (``signals.py``) and the webhook
delivery service add to Redis hashes instead, and a prometheus_client
collector registered in every process reads them on scrape, together with the
live queue depths from the broker. ``/metrics`` (django-prometheus, the
default registry) therefore shows:

- ``olympus_celery_tasks_total{task, state}`` (succeeded, failed, retried)
- ``olympus_celery_task_duration_seconds{task}`` (histogram)
- ``olympus_celery_queue_depth{queue}`` (messages waiting)
- ``olympus_webhook_deliveries_total{outcome}`` (succeeded, retry, failed, gone)
- ``olympus_webhook_delivery_latency_seconds`` (histogram)

Recording never raises: metrics are not worth a failed task.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from django.conf import settings
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger("olympus.metrics")

TASK_STATES = ("succeeded", "failed", "retried")
WEBHOOK_OUTCOMES = ("succeeded", "retry", "failed", "gone")
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, math.inf)
WEBHOOK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _key(*parts: str) -> str:
    return ":".join((settings.CACHE_KEY_PREFIX, "metrics", *parts))


def _bucket(seconds: float, buckets: Iterable[float]) -> str:
    for upper in buckets:
        if seconds <= upper:
            return _le(upper)
    return "+Inf"


def _le(upper: float) -> str:
    return "+Inf" if math.isinf(upper) else repr(float(upper))


def _observe(pipe, name: str, label: str, seconds: float, buckets: Iterable[float]) -> None:
    pipe.hincrby(_key(name, "buckets"), f"{label}|{_bucket(seconds, buckets)}", 1)
    pipe.hincrbyfloat(_key(name, "sum"), label, seconds)


def task_finished(*, task: str, state: str, seconds: float | None = None) -> None:
    """Count a task run by final state (and its duration when known)."""
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(_key("tasks", state), task, 1)
        if seconds is not None:
            _observe(pipe, "task_duration", task, seconds, TASK_BUCKETS)
        pipe.execute()
    except Exception:
        logger.debug("could not record task metrics", exc_info=True)


def webhook_delivery(*, outcome: str, seconds: float) -> None:
    """Count a webhook attempt by outcome and observe its latency."""
    webhook_deliveries([(outcome, seconds)])


def webhook_deliveries(observations: Iterable[tuple[str, float]]) -> None:
    """Count many webhook attempts (outcome, latency in seconds) at once: one Redis round trip for a batch."""
    outcomes: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0.0
    for outcome, seconds in observations:
        outcomes[outcome] += 1
        buckets[f"|{_bucket(seconds, WEBHOOK_BUCKETS)}"] += 1
        total += seconds
    if not outcomes:
        return
    try:
        pipe = _redis().pipeline(transaction=False)
        for outcome, count in outcomes.items():
            pipe.hincrby(_key("webhooks", "outcomes"), outcome, count)
        for field, count in buckets.items():
            pipe.hincrby(_key("webhook_latency", "buckets"), field, count)
        pipe.hincrbyfloat(_key("webhook_latency", "sum"), "", total)
        pipe.execute()
    except Exception:
        logger.debug("could not record webhook metrics", exc_info=True)


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue, read from the broker."""
    from olympus.celery import QUEUES, app

    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        channel = connection.default_channel
        # Not passive: Redis has no key for an empty queue; declaring is what workers do anyway.
        return {
            name: int(channel.queue_declare(queue=name, durable=True, auto_delete=False).message_count)
            for name in QUEUES
        }


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _histogram(
    family: HistogramMetricFamily, raw_buckets: dict, raw_sums: dict, buckets: Iterable[float], *, labelled: bool
) -> HistogramMetricFamily:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for field, value in raw_buckets.items():
        label, le = _decode(field).rsplit("|", 1)
        counts[label][le] = int(value)
    sums = {_decode(k): float(v) for k, v in raw_sums.items()}
    for label, by_le in sorted(counts.items()):
        cumulative, series = 0, []
        for upper in buckets:
            cumulative += by_le.get(_le(upper), 0)
            series.append((_le(upper), cumulative))
        family.add_metric([label] if labelled else [], series, sums.get(label, 0.0))
    return family


def _families() -> dict[str, object]:
    return {
        "tasks": CounterMetricFamily(
            "olympus_celery_tasks", "Celery task runs by final state.", labels=["task", "state"]
        ),
        "duration": HistogramMetricFamily(
            "olympus_celery_task_duration_seconds", "Celery task run time.", labels=["task"]
        ),
        "deliveries": CounterMetricFamily(
            "olympus_webhook_deliveries", "Webhook delivery attempts by outcome.", labels=["outcome"]
        ),
        "latency": HistogramMetricFamily("olympus_webhook_delivery_latency_seconds", "Webhook request latency."),
        "depth": GaugeMetricFamily("olympus_celery_queue_depth", "Messages waiting per queue.", labels=["queue"]),
    }


class AsyncCollector(Collector):
    def describe(self) -> Iterator:
        # Registration asks for names only: no Redis or broker round trip at start-up.
        yield from _families().values()

    def collect(self) -> Iterator:
        families = _families()
        try:
            redis = _redis()
            pipe = redis.pipeline(transaction=False)
            for state in TASK_STATES:
                pipe.hgetall(_key("tasks", state))
            pipe.hgetall(_key("task_duration", "buckets"))
            pipe.hgetall(_key("task_duration", "sum"))
            pipe.hgetall(_key("webhooks", "outcomes"))
            pipe.hgetall(_key("webhook_latency", "buckets"))
            pipe.hgetall(_key("webhook_latency", "sum"))
            *by_state, duration_buckets, duration_sums, outcomes, latency_buckets, latency_sums = pipe.execute()
        except Exception:
            logger.warning("task metrics unavailable (Redis)", exc_info=True)
        else:
            tasks = families["tasks"]
            for state, counts in zip(TASK_STATES, by_state, strict=True):
                for task, value in sorted(counts.items()):
                    tasks.add_metric([_decode(task), state], int(value))
            yield tasks
            yield _histogram(families["duration"], duration_buckets, duration_sums, TASK_BUCKETS, labelled=True)
            deliveries = families["deliveries"]
            for outcome, value in sorted(outcomes.items()):
                deliveries.add_metric([_decode(outcome)], int(value))
            yield deliveries
            yield _histogram(families["latency"], latency_buckets, latency_sums, WEBHOOK_BUCKETS, labelled=False)
        try:
            depths = queue_depths()
        except Exception:
            logger.warning("queue depths unavailable (broker)", exc_info=True)
        else:
            gauge = families["depth"]
            for queue, depth in depths.items():
                gauge.add_metric([queue], depth)
            yield gauge


_collector: AsyncCollector | None = None


def register_collector() -> None:
    global _collector
    if _collector is None:
        _collector = AsyncCollector()
        REGISTRY.register(_collector)
