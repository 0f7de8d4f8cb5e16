"""Reads of webhook endpoints and deliveries, scoped to what the acting user may see."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from apps.core.exceptions import NotFound
from apps.organizations.models import Organization
from apps.organizations.selectors import User, scope_to_organization
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, user: User, organization: Organization) -> QuerySet[WebhookEndpoint]:
    return scope_to_organization(WebhookEndpoint.objects.all(), user=user, organization=organization).order_by(
        "-created_at", "-id"
    )


def webhook_endpoint_get(*, user: User, organization: Organization, endpoint_id: uuid.UUID | str) -> WebhookEndpoint:
    try:
        return webhook_endpoint_list(user=user, organization=organization).get(pk=endpoint_id)
    except (WebhookEndpoint.DoesNotExist, ValueError) as exc:
        raise NotFound("Webhook endpoint not found.") from exc


def webhook_delivery_list(
    *, user: User, organization: Organization, endpoint: WebhookEndpoint
) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first (the payload is left out of lists)."""
    return (
        scope_to_organization(WebhookDelivery.objects.all(), user=user, organization=organization)
        .filter(endpoint=endpoint)
        .defer("payload")
    )


def webhook_delivery_get(
    *, user: User, organization: Organization, endpoint: WebhookEndpoint, delivery_id: uuid.UUID | str
) -> WebhookDelivery:
    """One delivery with its attempts, oldest attempt first."""
    queryset = (
        scope_to_organization(WebhookDelivery.objects.all(), user=user, organization=organization)
        .filter(endpoint=endpoint)
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("created_at", "id")))
    )
    try:
        return queryset.get(pk=delivery_id)
    except (WebhookDelivery.DoesNotExist, ValueError) as exc:
        raise NotFound("Webhook delivery not found.") from exc
