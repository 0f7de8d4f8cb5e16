"""Fan an outbox event out to one delivery per subscribed endpoint, and ping an endpoint."""

from __future__ import annotations

import json
import uuid

from django.db import transaction
from django.utils import timezone

from apps.audit.services import record
from apps.core.models import OutboxEvent
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.webhooks.services._common import (
    PING,
    User,
    _authorize,
    _body,
    _enqueue_endpoints_on_commit,
    _enqueue_on_commit,
)


def webhook_fan_out(*, event: OutboxEvent) -> int:
    """One delivery per active endpoint of the event's organization that subscribes to its type; how many
    endpoints subscribe.

    Runs as an outbox handler (at least once): the unique (endpoint, event)
    constraint makes a repeat create nothing. One INSERT; after commit, one batch
    task per endpoint unless one is queued already (a repeat queues batches that
    find nothing new).
    """
    if event.organization_id is None:
        return 0
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(organization_id=event.organization_id, is_active=True)
        if endpoint.subscribes_to(event.event_type)
    ]
    if not endpoints:
        return 0
    now = timezone.now()
    payload = {
        "id": str(event.id),
        "type": event.event_type,
        "created_at": event.created_at,
        "organization_id": str(event.organization_id),
        "data": event.payload,
    }
    payload = json.loads(_body(payload))
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                organization_id=event.organization_id,
                endpoint=endpoint,
                event_id=event.id,
                event_type=event.event_type,
                payload=payload,
                next_attempt_at=now,
                enqueued_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    _enqueue_endpoints_on_commit([endpoint.pk for endpoint in endpoints])
    return len(endpoints)


def webhook_ping(*, actor: User | None, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``ping`` delivery to an endpoint (also to a disabled one: that is how you test a fix)."""
    _authorize(actor, endpoint.organization_id, "change_webhooks")
    with transaction.atomic(durable=True):
        delivery_id = uuid.uuid4()
        now = timezone.now()
        payload = {
            "id": str(delivery_id),
            "type": PING,
            "created_at": now,
            "organization_id": str(endpoint.organization_id),
            "data": {"endpoint_id": str(endpoint.pk), "message": "Olympus webhook test"},
        }
        delivery = WebhookDelivery.objects.create(
            id=delivery_id,
            organization_id=endpoint.organization_id,
            endpoint=endpoint,
            event_type=PING,
            payload=json.loads(_body(payload)),
            next_attempt_at=now,
            enqueued_at=now,
        )
        record(
            action="webhook_endpoint.pinged",
            resource_type="webhook_endpoint",
            resource_id=endpoint.pk,
            organization=endpoint.organization_id,
            new_values={"delivery_id": delivery.pk},
            actor=actor,
        )
        _enqueue_on_commit([delivery.pk])
    return delivery
