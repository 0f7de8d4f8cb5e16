"""Every write to webhook endpoints and deliveries, and the delivery rules.

Endpoint services are one transaction each and write their audit row inside
it. A delivery attempt is deliberately three steps: claim the due delivery
(short transaction, a lease in ``next_attempt_at``), send the request with no
transaction open (up to the timeout), record the outcome (short transaction).
A worker that dies mid-send leaves the lease to expire and the sweep retries.

Rules kept here: one delivery per event and endpoint; 2xx delivered; 410
disables the endpoint; other failures retry on ``WEBHOOK_RETRY_SCHEDULE``
(Retry-After honoured) and then dead-letter; ``WEBHOOK_DISABLE_AFTER_DEAD_LETTERS``
dead letters in a row disable the endpoint and email its owners.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.audit.services import record
from apps.core.events import publish_event
from apps.core.exceptions import Conflict, ValidationError
from apps.core.models import OutboxEvent
from apps.core.services import model_update
from apps.entitlements import Feature, Limit
from apps.entitlements import feature_require as plan_feature_require
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.jobs import metrics
from apps.organizations.models import Organization
from apps.organizations.policies import permission_require
from apps.webhooks import signing, transport
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.webhooks.tasks import deliver_webhook

logger = logging.getLogger("olympus.webhooks")

User = AbstractBaseUser
EDITABLE_FIELDS = ("url", "description", "event_types", "is_active")
AUDITED_FIELDS = (*EDITABLE_FIELDS, "disabled_reason")
PING = "ping"
ENDPOINT_DISABLED = "webhook_endpoint.disabled"


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {name: getattr(endpoint, name) for name in AUDITED_FIELDS}


def _audit(action: str, endpoint: WebhookEndpoint, *, old: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    record(
        action=f"webhook_endpoint.{action}",
        resource_type="webhook_endpoint",
        resource_id=endpoint.pk,
        organization=endpoint.organization_id,
        old_values=old,
        new_values=_snapshot(endpoint),
        **kwargs,
    )


def _validate(*, url: str, event_types: Iterable[str]) -> None:
    errors: dict[str, list[str]] = {}
    problem = transport.check_url(url)
    if problem:
        errors["url"] = [problem]
    bad = [t for t in event_types if not t or len(t) > 100 or " " in t]
    if bad:
        errors["event_types"] = ["Event types are names like 'order.created', 'order.*' or '*'."]
    if errors:
        raise ValidationError(details=errors)


def _authorize(actor: User | None, organization: Organization | uuid.UUID, perm: str) -> None:
    """The acting user needs ``perm`` on the organization (every door: REST, GraphQL, admin); None is the platform."""
    if actor is None:
        return
    if not isinstance(organization, Organization):
        organization = Organization.objects.get(pk=organization)
    permission_require(user=actor, organization=organization, perm=perm)


def _check_plan(organization: Organization) -> None:
    """The plan's ``webhooks`` feature and ``webhook_endpoints`` limit (caller holds the organization lock)."""
    plan_feature_require(organization=organization, feature=Feature.WEBHOOKS)
    plan_limit_check(
        organization=organization,
        limit=Limit.WEBHOOK_ENDPOINTS,
        current=WebhookEndpoint.objects.filter(organization=organization).count(),
    )


def webhook_endpoint_create(
    *,
    actor: User | None,
    organization: Organization,
    url: str,
    description: str = "",
    event_types: Iterable[str] = (),
    is_active: bool = True,
) -> WebhookEndpoint:
    """Create an endpoint with a fresh secret (the caller shows it once)."""
    _authorize(actor, organization, "add_webhooks")
    event_types = sorted(set(event_types))
    _validate(url=url, event_types=event_types)
    with transaction.atomic(durable=True):
        # Row lock: concurrent creates cannot both slip under the plan limit.
        organization = plan_limit_lock(organization=organization)
        _check_plan(organization)
        endpoint = WebhookEndpoint(
            organization=organization,
            url=url,
            description=description,
            event_types=event_types,
            is_active=is_active,
            secret=signing.generate_secret(),
        )
        endpoint.full_clean()
        endpoint.save(force_insert=True)
        _audit("created", endpoint, actor=actor)
    return endpoint


def webhook_endpoint_update(
    *, actor: User | None, endpoint: WebhookEndpoint, data: Mapping[str, Any]
) -> WebhookEndpoint:
    """Change url, description, event types or ``is_active``; re-enabling clears the failure streak."""
    _authorize(actor, endpoint.organization_id, "change_webhooks")
    data = dict(data)
    if "event_types" in data:
        data["event_types"] = sorted(set(data["event_types"]))
    _validate(url=data.get("url", endpoint.url), event_types=data.get("event_types", endpoint.event_types))
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _snapshot(endpoint)
        was_active = endpoint.is_active
        changes = model_update(instance=endpoint, fields=EDITABLE_FIELDS, data=data)
        if changes and "is_active" in changes.new:
            if endpoint.is_active and not was_active:
                endpoint.consecutive_failures, endpoint.disabled_reason, endpoint.disabled_at = 0, "", None
            elif not endpoint.is_active:
                endpoint.disabled_reason, endpoint.disabled_at = "Disabled by a user.", timezone.now()
            endpoint.save(update_fields=["consecutive_failures", "disabled_reason", "disabled_at", "updated_at"])
        if changes:
            _audit("updated", endpoint, old=before, actor=actor)
    return endpoint


def webhook_endpoint_delete(*, actor: User | None, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries and attempts (the audit log keeps the record)."""
    _authorize(actor, endpoint.organization_id, "delete_webhooks")
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        record(
            action="webhook_endpoint.deleted",
            resource_type="webhook_endpoint",
            resource_id=endpoint.pk,
            organization=endpoint.organization_id,
            old_values=_snapshot(endpoint),
            actor=actor,
        )
        endpoint.delete()


def webhook_endpoint_rotate_secret(*, actor: User | None, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret now; the previous one keeps signing for ``WEBHOOK_SECRET_GRACE_HOURS``."""
    _authorize(actor, endpoint.organization_id, "change_webhooks")
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_GRACE_HOURS)
        endpoint.secret = signing.generate_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        record(
            action="webhook_endpoint.secret_rotated",
            resource_type="webhook_endpoint",
            resource_id=endpoint.pk,
            organization=endpoint.organization_id,
            new_values={"previous_secret_expires_at": endpoint.previous_secret_expires_at},
            actor=actor,
        )
    return endpoint


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Inside the caller's transaction, on a locked endpoint: disable it; the outbox emails the owners."""
    before = _snapshot(endpoint)
    endpoint.is_active = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["is_active", "disabled_reason", "disabled_at", "consecutive_failures", "updated_at"])
    _audit("disabled", endpoint, old=before, actor=None)
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    publish_event(
        event_type=ENDPOINT_DISABLED,
        organization_id=endpoint.organization_id,
        payload={"endpoint_id": str(endpoint.pk), "reason": endpoint.disabled_reason},
    )


def webhook_endpoint_disable(*, actor: User | None, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Disable an endpoint (admin action, system rules); its owners get an email."""
    _authorize(actor, endpoint.organization_id, "change_webhooks")
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.is_active:
            _disable(endpoint, reason=reason)
    return endpoint


# --- fan-out ------------------------------------------------------------------------------------


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


def webhook_fan_out(*, event: OutboxEvent) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the event's organization that subscribes to its type.

    Runs as an outbox handler (at least once): the unique (endpoint, event)
    constraint makes a repeat create nothing.
    """
    if event.organization_id is None:
        return []
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(organization_id=event.organization_id, is_active=True)
        if endpoint.subscribes_to(event.event_type)
    ]
    if not endpoints:
        return []
    now = timezone.now()
    payload = {
        "id": str(event.id),
        "type": event.event_type,
        "created_at": event.created_at,
        "organization_id": str(event.organization_id),
        "data": event.payload,
    }
    payload = json.loads(_body(payload))
    with transaction.atomic():
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
        # ignore_conflicts hides which rows were inserted: read back those not attempted yet.
        deliveries = list(
            WebhookDelivery.objects.filter(
                event_id=event.id, endpoint__in=endpoints, attempts=0, status=WebhookDelivery.Status.PENDING
            )
        )
        _enqueue_on_commit([d.pk for d in deliveries])
    return deliveries


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


# --- attempts -----------------------------------------------------------------------------------


@dataclass
class AttemptResult:
    delivery_id: uuid.UUID
    outcome: str  # "succeeded" | "retry" | "failed" (dead letter) | "gone" (410: endpoint disabled)
    status_code: int | None = None
    next_attempt_at: datetime | None = None


def retry_delay(*, attempt: int, retry_after: float | None = None) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1-based): the schedule with jitter, or Retry-After if longer."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    base = schedule[min(attempt, len(schedule)) - 1]
    jitter = settings.WEBHOOK_RETRY_JITTER
    seconds = base * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - jitter, not crypto
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    return timedelta(seconds=seconds)


INTERRUPTED_ERROR = "Interrupted: the sender stopped before the receiver's answer was recorded."


def _claim(delivery_id: uuid.UUID | str) -> tuple[WebhookDelivery, WebhookAttempt] | None:
    """Lock a due pending delivery, count the attempt, lease it and open its attempt row
    (``sending``) before any request goes out; None if not due or taken.

    An attempt of this delivery still ``sending`` was cut off by a crash (its lease ran out):
    it is closed as ``interrupted``.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(id=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        WebhookAttempt.objects.filter(delivery=delivery, state=WebhookAttempt.State.SENDING).update(
            state=WebhookAttempt.State.INTERRUPTED, finished_at=now, error=INTERRUPTED_ERROR
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_SEND_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at", "updated_at"])
        attempt = WebhookAttempt.objects.create(
            delivery=delivery, created_at=now, url=delivery.endpoint.url, state=WebhookAttempt.State.SENDING
        )
    return delivery, attempt


def webhook_delivery_attempt(*, delivery_id: uuid.UUID | str) -> AttemptResult | None:
    """Make the next attempt of a due delivery; None when it is not due (already sent, leased, replayed)."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    delivery, attempt = claimed
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event_type != PING:
        return _record(delivery, attempt, response=None, error="The endpoint is disabled.", latency_ms=0, final=True)
    body = _body(delivery.payload)
    headers = signing.signature_headers(
        secrets_=endpoint.signing_secrets(), message_id=str(delivery.pk), timestamp=int(time.time()), body=body
    )
    started = time.perf_counter()
    response: transport.Response | None = None
    try:
        response = transport.post(url=endpoint.url, body=body, headers=headers)
        error = ""
    except transport.Refused as exc:
        error = f"Refused: {exc}"
    except transport.SendError as exc:
        error = str(exc)
    latency_ms = response.latency_ms if response else int((time.perf_counter() - started) * 1000)
    return _record(delivery, attempt, response=response, error=error, latency_ms=latency_ms)


def _record(
    delivery: WebhookDelivery,
    attempt: WebhookAttempt,
    *,
    response: transport.Response | None,
    error: str,
    latency_ms: int,
    final: bool = False,
) -> AttemptResult:
    now = timezone.now()
    status_code = response.status_code if response else None
    succeeded = bool(response and response.ok)
    with transaction.atomic():
        # Locked for the write; gone if its endpoint was deleted while the request was out.
        if not WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).exists():
            return AttemptResult(delivery.pk, "deleted", status_code)
        # Close the attempt the claim opened before the request went out.
        WebhookAttempt.objects.filter(pk=attempt.pk).update(
            state=WebhookAttempt.State.FINISHED,
            finished_at=now,
            status_code=status_code,
            latency_ms=latency_ms,
            response_body=response.body if response else "",
            error=error[:1000],
            succeeded=succeeded,
        )
        delivery.last_status_code = status_code
        delivery.last_error = (error or ("" if succeeded else f"HTTP {status_code}"))[:1000]
        fields = ["last_status_code", "last_error", "status", "next_attempt_at", "updated_at"]
        if succeeded:
            outcome = "succeeded"
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = delivery.Status.SUCCEEDED, now, None
            fields.append("delivered_at")
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, consecutive_failures__gt=0).update(
                consecutive_failures=0
            )
        elif status_code == 410 or final or delivery.attempts > len(settings.WEBHOOK_RETRY_SCHEDULE):
            delivery.status, delivery.failed_at, delivery.next_attempt_at = delivery.Status.FAILED, now, None
            fields.append("failed_at")
            outcome = "gone" if status_code == 410 else "failed"
            if status_code == 410 or (not final and delivery.event_type != PING):
                _count_dead_letter(delivery.endpoint_id, gone=status_code == 410)
        else:
            outcome = "retry"
            retry_after = response.retry_after_seconds() if response else None
            delivery.next_attempt_at = now + retry_delay(attempt=delivery.attempts, retry_after=retry_after)
        delivery.save(update_fields=fields)
    metrics.webhook_delivery(outcome=outcome, seconds=latency_ms / 1000)
    log = logger.debug if succeeded else logger.warning
    log(
        "webhook delivery %s attempt %s to %s: %s (%s)",
        delivery.pk,
        delivery.attempts,
        delivery.endpoint_id,
        outcome,
        status_code or error,
    )
    return AttemptResult(delivery.pk, outcome, status_code, delivery.next_attempt_at)


def _count_dead_letter(endpoint_id: uuid.UUID, *, gone: bool) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if gone:
        if endpoint.is_active:
            _disable(endpoint, reason="The receiver answered 410 Gone.")
        return
    endpoint.consecutive_failures = F("consecutive_failures") + 1
    endpoint.save(update_fields=["consecutive_failures", "updated_at"])
    endpoint.refresh_from_db(fields=["consecutive_failures"])
    limit = settings.WEBHOOK_DISABLE_AFTER_DEAD_LETTERS
    if endpoint.is_active and endpoint.consecutive_failures >= limit:
        _disable(endpoint, reason=f"{endpoint.consecutive_failures} deliveries in a row failed every attempt.")


# --- sweep and replay ---------------------------------------------------------------------------


def webhook_deliveries_sweep(*, limit: int = 1000) -> int:
    """Beat: queue due deliveries not queued within ``WEBHOOK_REQUEUE_AFTER_SECONDS``; how many were queued."""
    now = timezone.now()
    requeue_before = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(
                Q(enqueued_at__isnull=True)
                | Q(enqueued_at__lte=requeue_before)
                | Q(enqueued_at__lt=F("last_attempt_at"))
            )
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(id__in=ids).update(enqueued_at=now)
        _enqueue_on_commit(ids)
    if ids:
        logger.info("webhook sweep queued %d due deliveries", len(ids))
    return len(ids)


def _requeue(queryset: Any) -> list[uuid.UUID]:
    now = timezone.now()
    ids = list(queryset.values_list("id", flat=True))
    WebhookDelivery.objects.filter(id__in=ids).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now, enqueued_at=now, failed_at=None
    )
    _enqueue_on_commit(ids)
    return ids


def webhook_delivery_replay(*, actor: User | None, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again (same ``webhook-id``, a fresh round of retries)."""
    _authorize(actor, delivery.organization_id, "change_webhooks")
    with transaction.atomic(durable=True):
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status == WebhookDelivery.Status.PENDING:
            raise Conflict("This delivery is still being attempted.")
        _requeue(WebhookDelivery.objects.filter(pk=locked.pk))
        record(
            action="webhook_delivery.replayed",
            resource_type="webhook_delivery",
            resource_id=locked.pk,
            organization=locked.organization_id,
            new_values={"endpoint_id": locked.endpoint_id, "event_type": locked.event_type},
            actor=actor,
        )
    locked.refresh_from_db()
    return locked


def webhook_deliveries_replay(
    *, actor: User | None, endpoint: WebhookEndpoint, created_after: datetime, created_before: datetime
) -> int:
    """Queue again the endpoint's dead letters created in [created_after, created_before); how many."""
    _authorize(actor, endpoint.organization_id, "change_webhooks")
    if created_after >= created_before:
        raise ValidationError(details={"to": ["Must be after 'from'."]})
    with transaction.atomic(durable=True):
        dead = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(
                endpoint=endpoint,
                status=WebhookDelivery.Status.FAILED,
                created_at__gte=created_after,
                created_at__lt=created_before,
            )
            .order_by("created_at")
        )
        count = dead.count()
        if count > settings.WEBHOOK_REPLAY_MAX:
            raise ValidationError(
                f"At most {settings.WEBHOOK_REPLAY_MAX} deliveries per replay; narrow the time range.",
                details={"count": count},
            )
        ids = _requeue(dead)
        record(
            action="webhook_endpoint.replayed",
            resource_type="webhook_endpoint",
            resource_id=endpoint.pk,
            organization=endpoint.organization_id,
            new_values={"from": created_after, "to": created_before, "deliveries": len(ids)},
            actor=actor,
        )
    return len(ids)


def webhook_attempts_prune(*, older_than_days: int | None = None) -> int:
    """Cleanup: attempts of delivered deliveries older than the retention; dead letters keep theirs."""
    days = older_than_days if older_than_days is not None else settings.WEBHOOK_ATTEMPT_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = WebhookAttempt.objects.filter(
        created_at__lt=cutoff, delivery__status=WebhookDelivery.Status.SUCCEEDED
    ).delete()
    return deleted
