"""``Idempotency-Key`` for POSTs that create money-moving objects (orders, checkout).

In a DRF view::

    from apps.core.idempotency import idempotent_response

    def create(self, request):
        return idempotent_response(request, handler=lambda: self._place(request))

The rules (Stripe's):

- no header: the handler simply runs;
- a new key: the handler runs and its response (status and body) is stored with
  a SHA-256 of the request body for ``IDEMPOTENCY_KEY_TTL_HOURS`` (24), in the
  same transaction as the handler's own writes: an order and the response that
  announces it commit together or not at all;
- the same key and body again: the stored response is replayed (header
  ``Idempotent-Replayed: true``) and nothing runs;
- the same key with another body: 422 ``IDEMPOTENCY_KEY_REUSED``;
- two concurrent requests with one key: the first inserts the key row, the
  second's insert waits on that row's unique index until the first commits,
  then it replays the stored response (one order, two identical answers);
- server errors (5xx) are not stored: the key row rolls back with the work, so
  a retry runs again. Client errors (4xx, e.g. ``INSUFFICIENT_STOCK``) are
  stored and replayed like successes.

Keys are scoped by (user, key, endpoint), where endpoint is ``"METHOD path"``.
Expired keys are purged nightly (:func:`idempotency_keys_purge`); an expired
key that is used again starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.exceptions import IdempotencyKeyReused, ValidationError, describe_exception, error_body
from apps.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON: key order and whitespace do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _claim(*, user_id: Any, key: str, endpoint: str, request_hash: str, now: datetime) -> IdempotencyKey:
    """Insert the key row, or wait for the transaction that holds it and lock it."""
    candidate = IdempotencyKey(
        user_id=user_id, key=key, endpoint=endpoint, request_hash=request_hash, expires_at=now + _ttl()
    )
    # INSERT ... ON CONFLICT DO NOTHING: while another transaction holds an uncommitted
    # row with this key, PostgreSQL makes this statement wait for it to end.
    IdempotencyKey.objects.bulk_create([candidate], ignore_conflicts=True)
    row = IdempotencyKey.objects.select_for_update().get(user_id=user_id, key=key, endpoint=endpoint)
    if row.pk != candidate.pk and row.expires_at <= now:
        # Past its lifetime a key is as good as new.
        row.request_hash = request_hash
        row.response_status = None
        row.response_body = None
        row.expires_at = now + _ttl()
        row.save(update_fields=["request_hash", "response_status", "response_body", "expires_at", "updated_at"])
    return row


def idempotent_call(
    *,
    user_id: uuid.UUID | str,
    key: str,
    endpoint: str,
    body: Any,
    call: Callable[[], tuple[int, Any]],
) -> IdempotentResult:
    """Run ``call`` (returning status and JSON body) at most once per (user, key, endpoint).

    One durable transaction holds the key row, ``call``'s writes and the stored
    response. ``call`` may raise: an application error (4xx) becomes the stored
    error envelope (its writes roll back to a savepoint); anything else rolls
    everything back and propagates.
    """
    request_hash = request_fingerprint(body)
    with transaction.atomic(durable=True):
        row = _claim(user_id=user_id, key=key, endpoint=endpoint, request_hash=request_hash, now=timezone.now())
        if row.request_hash != request_hash:
            raise IdempotencyKeyReused(details={"idempotency_key": key})
        if row.response_status is not None:
            return IdempotentResult(row.response_status, json.loads(row.response_body), replayed=True)
        try:
            with transaction.atomic():
                status, payload = call()
        except Exception as exc:
            info = describe_exception(exc)
            if info.status >= 500:
                raise
            status, payload = info.status, error_body(info)
        if status >= 500:
            # Not stored: the key is released so that a retry runs again.
            transaction.set_rollback(True)
            return IdempotentResult(status, payload, replayed=False)
        row.response_status = status
        row.response_body = json.dumps(payload, cls=DjangoJSONEncoder)
        row.save(update_fields=["response_status", "response_body", "updated_at"])
    return IdempotentResult(status, payload, replayed=False)


# The header's rules, as the OpenAPI document states them (every door that takes the header uses both).
KEY_RULES = (
    f"1 to {MAX_KEY_LENGTH} characters, not only spaces (sent but empty is a 400). The same key and body "
    "within 24 h replay the first response; the same key with another body is refused (422)."
)
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"}


def header_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (trimmed), ``None`` when not sent; a blank or long key is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(details={HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})
    return key


def openapi_parameter(description: str = KEY_RULES) -> Any:
    """The ``Idempotency-Key`` header for ``extend_schema(parameters=[...])``."""
    from drf_spectacular.utils import OpenApiParameter

    return OpenApiParameter(HEADER, KEY_SCHEMA, OpenApiParameter.HEADER, description=description)


def idempotent_response(request: Request, *, handler: Callable[[], Response]) -> Response:
    """Honour the request's ``Idempotency-Key`` around ``handler`` (a DRF view's body)."""
    key = header_key(request)
    if key is None:
        return handler()
    body = request.data  # parsed before the key is claimed: malformed JSON is a plain 400

    def call() -> tuple[int, Any]:
        response = handler()
        # Stored exactly as it is sent, so that a replay is byte-for-byte the same JSON.
        data = None if response.data is None else json.loads(JSONRenderer().render(response.data))
        return response.status_code, data

    result = idempotent_call(
        user_id=request.user.pk, key=key, endpoint=f"{request.method} {request.path}", body=body, call=call
    )
    response = Response(result.body, status=result.status)
    response[REPLAYED_HEADER] = "true" if result.replayed else "false"
    return response


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys past their lifetime; returns how many went."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
