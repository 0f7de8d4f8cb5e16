"""Billing reads shared by views, tasks and the admin; tenant reads are scoped to the acting user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from apps.billing.models import Invoice, Limit, Plan, Subscription
from apps.billing.services.plans import (
    default_plan,
    live_subscription,
    organization_features,
    organization_limits,
    usage_period_start,
)
from apps.catalog.selectors import product_count
from apps.organizations.models import Organization
from apps.organizations.selectors import member_count, scope_to_organization

RECENT_INVOICES = 12


# How much of each limit an organization uses. Apps that own a limited thing register a counter;
# a limit without one reports ``used: null``. The lead adds, when webhooks merge:
#   register_usage_counter(Limit.WEBHOOK_ENDPOINTS, lambda org: <live endpoints of org>)
def _orders_this_month(organization: Organization) -> int:
    from apps.orders.models import Order

    since = usage_period_start(organization=organization)
    return Order.objects.filter(organization=organization, created_at__gte=since).count()


USAGE_COUNTERS: dict[str, Callable[[Organization], int]] = {
    Limit.PRODUCTS: lambda organization: product_count(organization=organization),
    Limit.MEMBERS: lambda organization: member_count(organization=organization),
    Limit.ORDERS_PER_MONTH: _orders_this_month,
}


def register_usage_counter(limit: str, counter: Callable[[Organization], int]) -> None:
    USAGE_COUNTERS[limit] = counter


def plan_list() -> QuerySet[Plan]:
    """Plans on offer (public), cheapest first."""
    return Plan.objects.filter(is_active=True).order_by("position", "code")


@dataclass
class BillingOverview:
    organization: Organization
    plan: Plan
    subscription: Subscription | None
    features: dict[str, bool]
    usage: dict[str, dict[str, Any]]
    invoices: list[Invoice]


def billing_overview(*, user: Any, organization: Organization) -> BillingOverview:
    """Plan, subscription, usage against every limit and recent invoices of one of the user's organizations."""
    subscription = live_subscription(organization=organization)
    plan = subscription.plan if subscription is not None else default_plan()
    if subscription is None:  # show the latest one (e.g. canceled) so the client can tell what happened
        subscription = (
            scope_to_organization(Subscription.objects.select_related("plan"), user=user, organization=organization)
            .order_by("-created_at")
            .first()
        )
    limits = organization_limits(organization=organization)
    usage = {
        limit: {
            "used": USAGE_COUNTERS[limit](organization) if limit in USAGE_COUNTERS else None,
            "limit": limits[limit],
        }
        for limit in Limit.values
    }
    invoices = list(
        scope_to_organization(Invoice.objects.all(), user=user, organization=organization).order_by(
            "-stripe_created_at"
        )[:RECENT_INVOICES]
    )
    return BillingOverview(
        organization=organization,
        plan=plan,
        subscription=subscription,
        features=organization_features(organization=organization),
        usage=usage,
        invoices=invoices,
    )
