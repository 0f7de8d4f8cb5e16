"""Thin views: parse → service/selector → serialize. Billing: owners change, owners and admins read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.billing import selectors, services
from apps.billing.api import serializers as s
from apps.core import idempotency
from apps.core.openapi import ErrorEnvelopeSerializer
from apps.core.pagination import CursorPagination
from apps.organizations.permissions import (
    OrganizationPermission,
    OrganizationScopedMixin,
    request_permissions,
    resolve_organization,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorEnvelopeSerializer, description=description)


PAYMENT_PROVIDER_DOWN = _error("SERVICE_UNAVAILABLE: Stripe is unreachable or billing is not configured.")


class PlanPagination(CursorPagination):
    ordering = ("position", "code")


@extend_schema(tags=["billing"])
class PlanViewSet(viewsets.GenericViewSet):
    """Plans on offer: public."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    serializer_class = s.PlanOutputSerializer
    pagination_class = PlanPagination
    filter_backends: list[Any] = []

    def get_queryset(self):
        return selectors.plan_list()

    @extend_schema(summary="List plans with prices, features and limits (public)")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.PlanOutputSerializer(page, many=True).data)


def _overview(request: Request, organization: Any) -> Response:
    overview = selectors.billing_overview(user=request.user, organization=organization)
    return Response(s.BillingOverviewSerializer(overview).data)


@extend_schema(tags=["billing"])
class OrganizationBillingViewSet(OrganizationScopedMixin, viewsets.ViewSet):
    """An organization's plan, subscription, usage and invoices; cancel and resume (owner)."""

    permission_classes = [OrganizationPermission]
    organization_permissions = {"retrieve": "view_billing", "cancel": "change_billing", "resume": "change_billing"}

    @extend_schema(
        summary="Billing overview: plan, subscription, usage against each limit, recent invoices (owner, admin)",
        responses=s.BillingOverviewSerializer,
    )
    def retrieve(self, request: Request, organization_pk: Any = None) -> Response:
        return _overview(request, self.organization)

    @extend_schema(
        summary="Cancel the subscription at the end of the current period (owner)",
        request=None,
        responses={
            200: s.BillingOverviewSerializer,
            409: _error("CONFLICT: the organization has no active subscription."),
            503: PAYMENT_PROVIDER_DOWN,
        },
    )
    def cancel(self, request: Request, organization_pk: Any = None) -> Response:
        services.subscription_cancel(actor=request.user, organization=self.organization)
        return _overview(request, self.organization)

    @extend_schema(
        summary="Undo a cancellation before the period ends (owner)",
        request=None,
        responses={
            200: s.BillingOverviewSerializer,
            409: _error("CONFLICT: the organization has no active subscription."),
            503: PAYMENT_PROVIDER_DOWN,
        },
    )
    def resume(self, request: Request, organization_pk: Any = None) -> Response:
        services.subscription_resume(actor=request.user, organization=self.organization)
        return _overview(request, self.organization)


def _idempotency_key(request: Request) -> str:
    return idempotency.header_key(request) or ""


@extend_schema(tags=["billing"])
class CheckoutView(APIView):
    @extend_schema(
        summary="Start a Stripe Checkout for a plan (owner); honours Idempotency-Key",
        request=s.CheckoutInputSerializer,
        parameters=[
            idempotency.openapi_parameter(),
            OpenApiParameter(
                "Idempotent-Replayed",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true", "false"],
                description="Sent when the request had an Idempotency-Key: `true` when this is a replay.",
                response=[201],
            ),
        ],
        responses={
            201: s.CheckoutOutputSerializer,
            404: _error("NOT_FOUND: the organization or the plan does not exist (or is not yours)."),
            409: _error("CONFLICT: the organization already has a subscription (use the billing portal)."),
            422: _error("IDEMPOTENCY_KEY_REUSED: this key was used with a different body."),
            503: PAYMENT_PROVIDER_DOWN,
        },
    )
    def post(self, request: Request) -> Response:
        data = s.CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        organization = resolve_organization(request, values["organization"])
        checkout, created = services.checkout_session_create(
            actor=request.user,
            permissions=request_permissions(request, organization),
            organization=organization,
            plan_code=values["plan"],
            interval=values["interval"],
            success_url=values["success_url"],
            cancel_url=values["cancel_url"],
            idempotency_key=_idempotency_key(request),
        )
        key_sent = IDEMPOTENCY_HEADER in request.headers
        headers = {"Idempotent-Replayed": "false" if created else "true"} if key_sent else {}
        return Response(s.CheckoutOutputSerializer(checkout).data, status=status.HTTP_201_CREATED, headers=headers)


@extend_schema(tags=["billing"])
class PortalView(APIView):
    @extend_schema(
        summary="Open the Stripe billing portal for the organization (owner)",
        request=s.PortalInputSerializer,
        responses={
            200: s.PortalOutputSerializer,
            404: _error("NOT_FOUND: the organization does not exist or is not yours."),
            409: _error("CONFLICT: the organization has no Stripe customer yet (subscribe first)."),
            503: PAYMENT_PROVIDER_DOWN,
        },
    )
    def post(self, request: Request) -> Response:
        data = s.PortalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = resolve_organization(request, data.validated_data["organization"])
        url = services.billing_portal_session_create(
            actor=request.user,
            organization=organization,
            return_url=data.validated_data["return_url"],
            permissions=request_permissions(request, organization),
        )
        return Response(s.PortalOutputSerializer({"url": url}).data)
