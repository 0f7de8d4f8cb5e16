"""What the webhook services share: the user type, the permission check, the body bytes and the queueing."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.organizations.models import Organization
from apps.organizations.policies import permission_require
from apps.webhooks.tasks import deliver_webhook

logger = logging.getLogger("olympus.webhooks")

User = AbstractBaseUser
PING = "ping"


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
