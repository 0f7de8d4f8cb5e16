"""Analytics reads for an organization, from the materialized views (and the orders for period-wide uniques)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connections
from django.db.models import QuerySet, Sum

from apps.analytics import sql
from apps.analytics.models import DailyMetric, DailyTopProduct
from apps.core.replicas import read_alias
from apps.entitlements import Feature, feature_require
from apps.organizations.models import Organization
from apps.organizations.selectors import User, scope_to_organization


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time.min, tzinfo=UTC),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC),
        )


def _metrics(*, user: User, organization: Organization, currency: str, period: Period) -> QuerySet[DailyMetric]:
    return scope_to_organization(DailyMetric.objects.all(), user=user, organization=organization).filter(
        currency=currency, day__gte=period.start, day__lte=period.end
    )


def analytics_daily(
    *, user: User, organization: Organization, currency: str, period: Period, top: int = 5
) -> list[dict[str, Any]]:
    """One row per day of the period (days without orders are zeros) with that day's top products.

    Needs the ``analytics`` feature of the organization's plan (402 otherwise).
    """
    feature_require(organization=organization, feature=Feature.ANALYTICS)
    rows = {
        m.day: m
        for m in _metrics(user=user, organization=organization, currency=currency, period=period).order_by("day")
    }
    products: dict[date, list[dict[str, Any]]] = defaultdict(list)
    top_rows = (
        scope_to_organization(DailyTopProduct.objects.all(), user=user, organization=organization)
        .filter(currency=currency, day__gte=period.start, day__lte=period.end, rank__lte=top)
        .order_by("day", "rank")
        .values("day", "rank", "product_id", "name", "sku", "quantity", "revenue_cents")
    )
    for row in top_rows:
        values: dict[str, Any] = dict(row)
        products[values.pop("day")].append(values)
    result = []
    for offset in range(period.days):
        day = period.start + timedelta(days=offset)
        metric = rows.get(day)
        result.append(
            {
                "day": day,
                "currency": currency,
                "order_count": metric.order_count if metric else 0,
                "revenue_cents": metric.revenue_cents if metric else 0,
                "average_order_cents": metric.average_order_cents if metric else 0,
                "unique_customers": metric.unique_customers if metric else 0,
                "top_products": products.get(day, []),
            }
        )
    return result


def _unique_customers(*, organization: Organization, currency: str, period: Period) -> int:
    # Distinct over the whole period: daily uniques cannot be added up.
    start, end = period.bounds()
    with connections[read_alias("analytics")].cursor() as cursor:  # a replica may answer (issue 17)
        cursor.execute(
            f"SELECT count(DISTINCT {sql.CUSTOMER}) FROM orders_order o "  # noqa: S608 - constant SQL fragments
            f"WHERE {sql.COUNTED} AND o.organization_id = %s AND o.currency = %s "
            "AND o.created_at >= %s AND o.created_at < %s",
            [organization.pk, currency, start, end],
        )
        return int(cursor.fetchone()[0])


def _totals(*, user: User, organization: Organization, currency: str, period: Period) -> dict[str, Any]:
    sums = _metrics(user=user, organization=organization, currency=currency, period=period).aggregate(
        order_count=Sum("order_count"), revenue_cents=Sum("revenue_cents")
    )
    orders, revenue = sums["order_count"] or 0, sums["revenue_cents"] or 0
    return {
        "from": period.start,
        "to": period.end,
        "order_count": orders,
        "revenue_cents": revenue,
        # Integer cents, half up, like the view.
        "average_order_cents": (revenue * 2 + orders) // (orders * 2) if orders else 0,
        "unique_customers": _unique_customers(organization=organization, currency=currency, period=period),
    }


def _change(current: int, previous: int) -> dict[str, Any]:
    return {
        "absolute": current - previous,
        "percent": round((current - previous) * 100 / previous, 1) if previous else None,
    }


def analytics_summary(*, user: User, organization: Organization, currency: str, period: Period) -> dict[str, Any]:
    """Totals of the period, the same for the period just before it, and the change between them.

    Needs the ``analytics`` feature of the organization's plan (402 otherwise).
    """
    feature_require(organization=organization, feature=Feature.ANALYTICS)
    current = _totals(user=user, organization=organization, currency=currency, period=period)
    previous = _totals(user=user, organization=organization, currency=currency, period=period.previous())
    keys = ("order_count", "revenue_cents", "average_order_cents", "unique_customers")
    return {
        "currency": currency,
        "current": current,
        "previous": previous,
        "change": {key: _change(current[key], previous[key]) for key in keys},
    }


def organization_period_totals(*, organization: Organization, period: Period) -> dict[str, Any]:
    """For system jobs (the weekly email): counted orders, revenue and customers of a period, straight from
    the orders in the organization's currency (not the views, which may be up to a refresh behind)."""
    currency = (organization.settings or {}).get("currency", "USD")
    start, end = period.bounds()
    with connections[read_alias("analytics")].cursor() as cursor:  # a replica may answer (issue 17)
        cursor.execute(
            f"SELECT count(*), coalesce(sum(o.total_cents), 0), count(DISTINCT {sql.CUSTOMER}) "  # noqa: S608
            f"FROM orders_order o WHERE {sql.COUNTED} AND o.organization_id = %s AND o.currency = %s "
            "AND o.created_at >= %s AND o.created_at < %s",
            [organization.pk, currency, start, end],
        )
        orders, revenue, customers = cursor.fetchone()
    return {
        "currency": currency,
        "orders": int(orders),
        "revenue_cents": int(revenue),
        "average_order_cents": (int(revenue) * 2 + orders) // (orders * 2) if orders else 0,
        "customers": int(customers),
    }
