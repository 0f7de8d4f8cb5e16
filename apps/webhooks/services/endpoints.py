"""Create, change, rotate, disable and delete webhook endpoints (one transaction and audit row each)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.services import record
from apps.core.events import publish_event
from apps.core.exceptions import ValidationError
from apps.core.services import model_update
from apps.entitlements import Feature, Limit
from apps.entitlements import feature_require as plan_feature_require
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.organizations.models import Organization
from apps.webhooks import signing, transport
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services._common import User, _authorize

logger = logging.getLogger("olympus.webhooks")


EDITABLE_FIELDS = ("url", "description", "event_types", "is_active")
AUDITED_FIELDS = (*EDITABLE_FIELDS, "disabled_reason")
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


def _check_plan(organization: Organization) -> None:
    """The plan's ``webhooks`` feature and ``webhook_endpoints`` limit (caller holds the organization lock)."""
    plan_feature_require(organization=organization, feature=Feature.WEBHOOKS)
    plan_limit_check(
        organization=organization,
        limit=Limit.WEBHOOK_ENDPOINTS,
        current=lambda: WebhookEndpoint.objects.filter(organization=organization).count(),
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
