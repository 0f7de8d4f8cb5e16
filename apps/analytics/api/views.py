"""Analytics of an organization (owner, admin, member): daily rollups and a period summary."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.analytics import selectors
from apps.analytics import serializers as s
from apps.organizations.permissions import OrganizationPermission, OrganizationScopedMixin

PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="First day (UTC), inclusive; default 29 days before 'to'. 1900-01-01 to 9999-12-30.",
    ),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (UTC), inclusive; default today."),
    OpenApiParameter(
        "currency",
        {"type": "string", "pattern": "^[A-Z]{3}$"},
        description="ISO 4217 code; default the organization's currency.",
    ),
]


class _AnalyticsView(OrganizationScopedMixin, APIView):
    permission_classes = [OrganizationPermission]
    organization_permissions = {"GET": "view_analytics"}

    def period(self, request: Request) -> dict[str, Any]:
        data = s.PeriodInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        currency = data.validated_data["currency"] or (self.organization.settings or {}).get("currency", "USD")
        return {"period": data.validated_data["period"], "currency": currency}


class DailyMetricsView(_AnalyticsView):
    @extend_schema(
        summary="Daily orders, revenue, average order value, customers and top products (owner, admin, member)",
        description="Counted orders exclude cancelled and refunded ones; days are UTC; refreshed every 15 minutes.",
        parameters=PARAMETERS,
        responses=s.DailyListOutputSerializer,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = selectors.analytics_daily(user=request.user, organization=self.organization, **self.period(request))
        return Response(s.DailyListOutputSerializer({"results": rows}).data)


class SummaryView(_AnalyticsView):
    @extend_schema(
        summary="Totals of a period compared with the period before (owner, admin, member)",
        parameters=PARAMETERS,
        responses=s.SummaryOutputSerializer,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        summary = selectors.analytics_summary(user=request.user, organization=self.organization, **self.period(request))
        return Response(s.SummaryOutputSerializer(summary).data)
