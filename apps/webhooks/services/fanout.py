"""Fan an outbox event out to one delivery per subscribed endpoint, and ping an endpoint."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import record
from apps.core.db import Statement
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

_DELIVERY = WebhookDelivery._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table
# The active endpoints of the organization that subscribe to the type (WebhookEndpoint.subscribes_to in SQL: no
# types is every type; "*", the exact type, or a "prefix.*"), one pending delivery each (a repeat creates nothing),
# in one statement; the subscribed endpoints' ids, whether or not a delivery was created for them now.
FAN_OUT = Statement(
    "webhook_fan_out",
    f"""WITH subscribed AS (
    SELECT id FROM {_ENDPOINT}
    WHERE organization_id = %(organization)s AND is_active AND (
        cardinality(event_types) = 0 OR EXISTS (
            SELECT FROM unnest(event_types) AS pattern
            WHERE pattern IN ('*', %(type)s) OR (right(pattern, 2) = '.*' AND starts_with(%(type)s, left(pattern, -1)))
        )
    )
), created AS (
    INSERT INTO {_DELIVERY} (id, created_at, updated_at, organization_id, endpoint_id, event_id, event_type, payload,
        status, attempts, next_attempt_at, enqueued_at, last_error)
    SELECT gen_random_uuid(), %(now)s::timestamptz, %(now)s, %(organization)s, id, %(event)s::uuid, %(type)s,
        %(payload)s::jsonb,
        'pending', 0, %(now)s, %(now)s, ''
    FROM subscribed
    ON CONFLICT (endpoint_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
)
SELECT id FROM subscribed ORDER BY id""",  # noqa: S608 - table names from the models, values are parameters
)


def webhook_fan_out(*, event: OutboxEvent) -> int:
    """One delivery per active endpoint of the event's organization that subscribes to its type; how many
    endpoints subscribe.

    Runs as an outbox handler (at least once): the unique (endpoint, event)
    constraint makes a repeat create nothing. One statement (no model is built:
    this runs for every event of every organization); after commit, one batch
    task per endpoint unless one is queued already (a repeat queues batches that
    find nothing new).
    """
    if event.organization_id is None:
        return 0
    now = timezone.now()
    payload = {
        "id": str(event.id),
        "type": event.event_type,
        "created_at": event.created_at,
        "organization_id": str(event.organization_id),
        "data": event.payload,
    }
    parameters: dict[str, Any] = {
        "organization": event.organization_id,
        "type": event.event_type,
        "event": event.id,
        "payload": _body(payload).decode(),
        "now": now,
    }
    with connection.cursor() as cursor:
        FAN_OUT.execute(cursor, parameters)
        endpoint_ids = [row[0] for row in cursor.fetchall()]
    _enqueue_endpoints_on_commit(endpoint_ids)
    return len(endpoint_ids)


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
