"""What the webhook services share: the user type, the permission check, the body bytes and the queueing."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.organizations.models import Organization
from apps.organizations.policies import permission_require
from apps.webhooks.tasks import deliver_webhook, deliver_webhooks

logger = logging.getLogger("olympus.webhooks")

User = AbstractBaseUser
PING = "ping"
# While an endpoint's batch task is queued and has not started, later fan-outs ride on it instead of queueing
# another (a Celery message costs more than sending a webhook); a lost message delays by this much at most.
BATCH_QUEUED_TTL = 10


def _authorize(actor: User | None, organization: Organization | uuid.UUID, perm: str) -> None:
    """The acting user needs ``perm`` on the organization (every door: REST, GraphQL, admin); None is the platform."""
    if actor is None:
        return
    if not isinstance(organization, Organization):
        organization = Organization.objects.get(pk=organization)
    permission_require(user=actor, organization=organization, perm=perm)


def _body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent: compact, sorted keys, so every retry sends the same body."""
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()


def _enqueue(delivery_ids: list[uuid.UUID]) -> None:
    """After commit: one task per delivery on the webhooks queue (the sweep covers a lost one)."""
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(str(delivery_id))
        except Exception:  # broker down: next_attempt_at is due, the sweep queues it
            logger.warning("could not queue webhook delivery %s; the sweep will", delivery_id, exc_info=True)


def _enqueue_on_commit(delivery_ids: list[uuid.UUID]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: _enqueue(delivery_ids))


def batch_queued_key(endpoint_id: uuid.UUID | str) -> str:
    return f"webhooks:batch-queued:{endpoint_id}"


def _enqueue_endpoints(endpoint_ids: list[uuid.UUID] | list[uuid.UUID | str]) -> None:
    """One batch task per endpoint on the webhooks queue, unless one is already queued (the sweep covers a lost one).

    The endpoints' queued flags are set in one Redis round trip (a fan-out names every subscribed endpoint, and
    most of them have a batch queued already); a message goes out for each flag that was not set.
    """
    ids = list(dict.fromkeys(str(endpoint_id) for endpoint_id in endpoint_ids))
    try:
        flagged = _flag_batches(ids)
    except Exception:  # Redis down: the deliveries are due, the sweep queues them
        logger.warning("could not queue webhook batches of endpoints %s; the sweep will", ids, exc_info=True)
        return
    for endpoint_id, newly in zip(ids, flagged, strict=True):
        if not newly:
            continue
        try:
            deliver_webhooks.delay(endpoint_id)
        except Exception:  # the broker down: the deliveries are due, the sweep queues them
            logger.warning("could not queue webhook batch of endpoint %s; the sweep will", endpoint_id, exc_info=True)


def _flag_batches(endpoint_ids: list[str]) -> list[bool]:
    """Set each endpoint's queued flag unless it is set (``cache.add`` for all of them, one round trip); which
    ones were set now."""
    from django_redis import get_redis_connection

    pipe = get_redis_connection("default").pipeline(transaction=False)
    for endpoint_id in endpoint_ids:
        pipe.set(cache.make_and_validate_key(batch_queued_key(endpoint_id)), 1, nx=True, ex=BATCH_QUEUED_TTL)
    return [bool(answer) for answer in pipe.execute()]


def _enqueue_endpoints_on_commit(endpoint_ids: list[uuid.UUID]) -> None:
    if endpoint_ids:
        transaction.on_commit(lambda: _enqueue_endpoints(endpoint_ids))
