"""The fan-out statement: who gets a delivery (the same rule as ``WebhookEndpoint.subscribes_to``), what it holds,
and the queueing of one batch per endpoint with all the endpoints' flags in one Redis round trip."""

import json

import pytest
from django.core.cache import cache

from apps.core import events
from apps.webhooks import services, tasks
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import _common
from apps.webhooks.services._common import _body, _enqueue_endpoints, batch_queued_key
from apps.webhooks.tests.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

PATTERNS = [
    [],
    ["*"],
    ["order.created"],
    ["order.*"],
    ["order.created.*"],
    ["order*"],
    ["order"],
    [".*"],
    ["product.*", "order.created"],
    ["product.created", "customer.*"],
    ["ORDER.created"],
    ["order_created"],
]
EVENT_TYPES = ["order.created", "order.created.late", "order", "orders.created", "product.created", "ping"]


@pytest.fixture
def queued(monkeypatch):
    """The endpoint ids batch tasks were queued for (the tasks themselves do not run)."""
    calls: list[str] = []
    monkeypatch.setattr(tasks.deliver_webhooks, "delay", calls.append)
    return calls


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_statement_subscribes_exactly_the_endpoints_the_model_says(
    organization, other_organization, event_type, queued
):
    # given: one endpoint per pattern list, an inactive one, one of another organization
    endpoints = [WebhookEndpointFactory(organization=organization, event_types=types) for types in PATTERNS]
    inactive = WebhookEndpointFactory(organization=organization, is_active=False)
    foreign = WebhookEndpointFactory(organization=other_organization)
    event = events.publish_event(event_type=event_type, payload={"n": 1}, organization_id=organization.id)
    # when
    count = services.webhook_fan_out(event=event)
    # then: a delivery for each active endpoint of the organization whose types match, by the model's own rule
    expected = {endpoint.pk for endpoint in endpoints if endpoint.subscribes_to(event_type)}
    created = set(WebhookDelivery.objects.filter(event_id=event.id).values_list("endpoint_id", flat=True))
    assert created == expected
    assert count == len(expected)
    assert inactive.pk not in created
    assert foreign.pk not in created


def test_a_delivery_holds_the_event_as_the_body_sent(endpoint, organization, queued):
    event = events.publish_event(
        event_type="order.created", payload={"b": [1, 2], "a": {"z": None, "y": "é"}}, organization_id=organization.id
    )
    services.webhook_fan_out(event=event)
    delivery = WebhookDelivery.objects.get(event_id=event.id)
    assert (delivery.status, delivery.attempts, delivery.event_type) == ("pending", 0, "order.created")
    assert (delivery.organization_id, delivery.endpoint_id) == (organization.id, endpoint.id)
    assert delivery.next_attempt_at == delivery.enqueued_at == delivery.created_at
    assert delivery.payload == {
        "id": str(event.id),
        "type": "order.created",
        "created_at": json.loads(_body({"t": event.created_at}))["t"],
        "organization_id": str(organization.id),
        "data": {"b": [1, 2], "a": {"z": None, "y": "é"}},
    }


def test_a_repeated_fan_out_creates_nothing_and_still_counts_the_subscribers(endpoint, organization, queued):
    event = events.publish_event(event_type="order.created", payload={}, organization_id=organization.id)
    first = services.webhook_fan_out(event=event)
    delivery = WebhookDelivery.objects.get(event_id=event.id)
    assert services.webhook_fan_out(event=event) == first == 1
    assert list(WebhookDelivery.objects.filter(event_id=event.id)) == [delivery]


def test_batches_are_queued_once_per_endpoint_with_one_redis_round_trip(monkeypatch, queued):
    # given: three endpoints, one of which has a batch queued already
    first, second, third = (
        "00000000-0000-0000-0000-00000000000a",
        "00000000-0000-0000-0000-00000000000b",
        ("00000000-0000-0000-0000-00000000000c"),
    )
    for endpoint_id in (first, second, third):
        cache.delete(batch_queued_key(endpoint_id))
    cache.add(batch_queued_key(second), 1)
    pipelines = []
    real = _common._flag_batches

    def counting(endpoint_ids):
        pipelines.append(list(endpoint_ids))
        return real(endpoint_ids)

    monkeypatch.setattr(_common, "_flag_batches", counting)
    # when: one of them named twice
    _enqueue_endpoints([first, second, third, first])
    # then: one pipeline for the three flags; a task for each endpoint without one; every flag now set
    assert pipelines == [[first, second, third]]
    assert queued == [first, third]
    assert all(cache.get(batch_queued_key(endpoint_id)) == 1 for endpoint_id in (first, second, third))
    # and a second fan-out rides on the queued batches
    _enqueue_endpoints([first, third])
    assert queued == [first, third]


def test_redis_down_queues_nothing_and_leaves_the_deliveries_to_the_sweep(monkeypatch, queued, caplog):
    def down(endpoint_ids):
        raise ConnectionError("redis down")

    monkeypatch.setattr(_common, "_flag_batches", down)
    _enqueue_endpoints(["00000000-0000-0000-0000-00000000000d"])
    assert queued == []
    assert "the sweep will" in caplog.text
