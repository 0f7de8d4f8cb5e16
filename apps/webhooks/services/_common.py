"""What the webhook services share: the user type, the permission check, the body bytes and the queueing."""

from __future__ import annotations

import itertools
import json
import logging
import re
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

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


_PARAMETER = re.compile(r"%\((\w+)\)s")
# Per database session (the psycopg connection): the statements prepared in it, by key, and their names.
_prepared: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_names = itertools.count(1)


class Statement:
    """A statement the delivery path runs for every event or delivery: PostgreSQL parses and plans it once per
    database session instead of every time (planning the delivery statement took more of PostgreSQL's CPU than
    running it).

    Written with ``%(name)s`` parameters like any other; a parameter whose type the statement does not fix
    (one only in a select list) needs a cast, as PREPARE infers the types.

    ``flush_wait=False``: the statement's commit does not wait for its WAL to reach the disk (``SET LOCAL
    synchronous_commit TO OFF`` in the same round trip; run in autocommit, the statement is its own transaction).
    For records whose loss is already covered: only a crash of PostgreSQL itself, within a fraction of a second
    of the commit, can lose them, and what they record is then done again. Inside a caller's transaction it
    waits as usual: the setting would reach everything else that transaction writes.
    """

    def __init__(self, key: str, sql: str, *, flush_wait: bool = True) -> None:
        self.key, self.sql = key, sql
        self._prefix = "" if flush_wait else "SET LOCAL synchronous_commit TO OFF; "
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        self._body = _PARAMETER.sub(number, sql)
        self._arguments = ", ".join(f"%({name})s" for name in names)

    def execute(self, cursor: CursorWrapper, parameters: Mapping[str, Any]) -> None:
        """Run it on ``cursor`` (then fetch as usual): the first time in a session, PREPARE and EXECUTE in one
        round trip; then EXECUTE by name. Plain SQL behind a transaction pooler (a prepared statement does not
        follow a client from one server connection to the next)."""
        prefix = "" if connection.in_atomic_block else self._prefix
        if settings.DB_TRANSACTION_POOLER:
            cursor.execute(prefix + self.sql, parameters)
            _skip(cursor, prefix)
            return
        session = _prepared.setdefault(connection.connection, {})
        name = session.get(self.key)
        if name is not None:
            try:
                cursor.execute(f"{prefix}EXECUTE {name}({self._arguments})", parameters)
            except Exception:
                session.pop(self.key, None)  # whatever went wrong, the next run prepares it afresh
                raise
            _skip(cursor, prefix)
            return
        # A new name each time: a PREPARE that went through before a failure is simply never used.
        name = f"{self.key}_{next(_names)}"
        cursor.execute(f"{prefix}PREPARE {name} AS {self._body}; EXECUTE {name}({self._arguments})", parameters)
        _skip(cursor, prefix)
        cursor.nextset()
        session[self.key] = name


def _skip(cursor: CursorWrapper, prefix: str) -> None:
    if prefix:
        cursor.nextset()  # past the SET's empty result, to the statement's own
