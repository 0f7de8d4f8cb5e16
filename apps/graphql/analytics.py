"""Analytics: ``dailyMetrics`` of an organization, from the analytics selectors (view_analytics)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from apps.analytics import selectors
from apps.analytics.serializers import PeriodInputSerializer
from apps.graphql.common import BigInt
from apps.graphql.context import context_of
from apps.graphql.inputs import validated
from apps.organizations.selectors import organization_get


@strawberry.type(description="One of the day's best sellers, by revenue.")
class TopProduct:
    rank: int
    product_id: UUID | None
    name: str | None
    sku: str | None
    quantity: int
    revenue_cents: BigInt


@strawberry.type(
    description="One UTC day of an organization in one currency; counted orders exclude cancelled "
    "and refunded ones. Refreshed every 15 minutes."
)
class DailyMetric:
    day: date
    currency: str
    order_count: int
    revenue_cents: BigInt
    average_order_cents: BigInt
    unique_customers: int
    top_products: list[TopProduct]


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        description="One row per day of the period (days without orders are zeros) with its top products "
        "(owner, admin, member: view_analytics). Default: the last 30 days, the organization's currency."
    )
    def daily_metrics(
        self,
        info: Info,
        organization_id: UUID,
        from_: Annotated[date | None, strawberry.argument(name="from", description="First day, inclusive.")] = None,
        to: Annotated[date | None, strawberry.argument(description="Last day, inclusive; default today.")] = None,
        currency: Annotated[str | None, strawberry.argument(description="ISO 4217.")] = None,
    ) -> list[DailyMetric] | None:
        context = context_of(info)
        organization = organization_get(user=context.require_user(), organization_id=organization_id)
        context.require(organization, "view_analytics")
        raw = {name: value for name, value in {"from": from_, "to": to, "currency": currency}.items() if value}
        data = validated(PeriodInputSerializer, raw)
        rows = selectors.analytics_daily(
            user=context.user,
            organization=organization,
            period=data["period"],
            currency=data["currency"] or (organization.settings or {}).get("currency", "USD"),
        )
        return [
            DailyMetric(
                day=row["day"],
                currency=row["currency"],
                order_count=row["order_count"],
                revenue_cents=row["revenue_cents"],
                average_order_cents=row["average_order_cents"],
                unique_customers=row["unique_customers"],
                top_products=[TopProduct(**product) for product in row["top_products"]],
            )
            for row in rows
        ]
