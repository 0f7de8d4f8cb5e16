"""Webhook endpoints and their deliveries under ``organizations/{id}/webhooks/`` (owners and admins)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.openapi import documented_error
from apps.organizations.permissions import OrganizationPermission, OrganizationScopedMixin
from apps.webhooks import selectors, services
from apps.webhooks.api import serializers as s
from apps.webhooks.api.filters import WebhookDeliveryFilter
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints (owner, admin)"),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(
        summary="Create a webhook endpoint; the response shows its signing secret once",
        request=s.WebhookEndpointInputSerializer,
        responses={201: s.WebhookEndpointWithSecretOutputSerializer, 402: documented_error("402")},
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint (is_active=true re-enables a disabled one)",
        request=s.WebhookEndpointInputSerializer,
        responses=s.WebhookEndpointOutputSerializer,
    ),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery history", responses={204: None}),
)
class WebhookEndpointViewSet(
    OrganizationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Signed outgoing webhooks: every event of the organization, to each subscribed endpoint."""

    permission_classes = [OrganizationPermission]
    # Every call also counts against the webhook management tier (apps/core/throttles.py).
    rate_limit_tiers = {"*": "webhook_manage"}
    organization_resource = "webhooks"
    organization_permissions = {
        "test": "change_webhooks",
        "rotate_secret": "change_webhooks",
        "replay": "change_webhooks",
    }
    lookup_value_converter = "uuid"
    serializer_class = s.WebhookEndpointOutputSerializer
    queryset = WebhookEndpoint.objects.none()
    filter_backends: list[Any] = []

    def get_queryset(self):
        return selectors.webhook_endpoint_list(user=self.request.user, organization=self.organization)

    def get_object(self) -> WebhookEndpoint:
        endpoint = selectors.webhook_endpoint_get(
            user=self.request.user, organization=self.organization, endpoint_id=self.kwargs["pk"]
        )
        self.check_object_permissions(self.request, endpoint)
        return endpoint

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(
            actor=request.user, organization=self.organization, **data.validated_data
        )
        return Response(s.WebhookEndpointWithSecretOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.WebhookEndpointInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            actor=request.user, endpoint=self.get_object(), data=data.validated_data
        )
        return Response(s.WebhookEndpointOutputSerializer(endpoint).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_endpoint_delete(actor=request.user, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a ping delivery to the endpoint", request=None, responses={202: s.WebhookDeliveryOutputSerializer}
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delivery = services.webhook_ping(actor=request.user, endpoint=self.get_object())
        return Response(s.WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Rotate the signing secret (the old one keeps signing for 24 h); shows the new one once",
        request=None,
        responses=s.WebhookEndpointWithSecretOutputSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = services.webhook_endpoint_rotate_secret(actor=request.user, endpoint=self.get_object())
        return Response(s.WebhookEndpointWithSecretOutputSerializer(endpoint).data)

    @extend_schema(
        summary="Replay the endpoint's dead letters created in a time range",
        request=s.WebhookReplayInputSerializer,
        responses={202: s.WebhookReplayOutputSerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.WebhookReplayInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.webhook_deliveries_replay(
            actor=request.user,
            endpoint=self.get_object(),
            created_after=data.validated_data["from"],
            created_before=data.validated_data["to"],
        )
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List an endpoint's deliveries (filter by status, event type, time)"),
    retrieve=extend_schema(
        summary="Get a delivery with its payload and every attempt", responses=s.WebhookDeliveryDetailOutputSerializer
    ),
)
class WebhookDeliveryViewSet(
    OrganizationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """What was sent to an endpoint, and exactly what happened on each attempt."""

    permission_classes = [OrganizationPermission]
    rate_limit_tiers = {"*": "webhook_manage"}
    organization_permissions = {"list": "view_webhooks", "retrieve": "view_webhooks", "replay": "change_webhooks"}
    lookup_value_converter = "uuid"
    serializer_class = s.WebhookDeliveryOutputSerializer
    filterset_class = WebhookDeliveryFilter
    queryset = WebhookDelivery.objects.none()

    @property
    def endpoint(self) -> WebhookEndpoint:
        cached = getattr(self, "_endpoint", None)
        if cached is None:
            cached = self._endpoint = selectors.webhook_endpoint_get(
                user=self.request.user, organization=self.organization, endpoint_id=self.kwargs["endpoint_pk"]
            )
        return cached

    def get_queryset(self):
        return selectors.webhook_delivery_list(
            user=self.request.user, organization=self.organization, endpoint=self.endpoint
        )

    def get_object(self) -> WebhookDelivery:
        delivery = selectors.webhook_delivery_get(
            user=self.request.user,
            organization=self.organization,
            endpoint=self.endpoint,
            delivery_id=self.kwargs["pk"],
        )
        self.check_object_permissions(self.request, delivery)
        return delivery

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.WebhookDeliveryDetailOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Send a finished delivery again (same webhook-id)",
        request=None,
        responses={
            202: s.WebhookDeliveryOutputSerializer,
            409: documented_error("409", "CONFLICT: the delivery is still being attempted."),
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delivery = services.webhook_delivery_replay(actor=request.user, delivery=self.get_object())
        return Response(s.WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
