"""Core benchmarks: the cost of publishing and dispatching an outbox event, and of a probe."""

from django.test import Client

from apps.core import events
from tools.bench.runner import timed


def outbox_publish_and_dispatch() -> dict:
    def one() -> None:
        event = events.publish_event(event_type="bench.ping", payload={"n": 1})
        events.outbox_dispatch(event_id=event.id)

    return timed(one, repeat=500)


def live_probe() -> dict:
    client = Client(HTTP_HOST="localhost")
    return timed(lambda: client.get("/live"), repeat=500)


BENCHMARKS = [outbox_publish_and_dispatch, live_probe]
