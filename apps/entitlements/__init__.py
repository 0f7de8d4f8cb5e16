"""What an organization's plan allows: the feature and limit checks every service calls.

Catalog, orders, webhooks, organizations and analytics sit below billing (billing
imports them), so they may not import billing. The rules they need, "this plan
has that feature" and "this plan allows that many", live here instead; the plan
table itself (names, the default plan, which plan lifts a limit) stays in
billing, which registers a :class:`PlanDirectory` when the app is ready.

An organization's ``features`` and ``limits`` are billing's copy of its plan's;
a key missing from the copy means "what the default plan says".

How a service enforces a limit, inside its own transaction::

    from apps import entitlements
    from apps.entitlements import Limit

    with transaction.atomic():
        organization = entitlements.limit_lock(organization=organization)  # concurrent creates queue here
        entitlements.limit_check(organization=organization, limit=Limit.PRODUCTS,
                                 current=lambda: product_count(organization=organization))
        ...create the product...

and a feature, where the data is read or written (every door gets the same 402)::

    entitlements.feature_require(organization=organization, feature=Feature.ANALYTICS)
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db import models
from django.utils import timezone

from apps.core.exceptions import FeatureNotInPlan, PlanLimitReached


class Feature(models.TextChoices):
    """Switches a plan turns on; checked with :func:`feature_require`."""

    WEBHOOKS = "webhooks", "Outgoing webhooks"
    ANALYTICS = "analytics", "Analytics"
    GRAPHQL = "graphql", "GraphQL API"


class Limit(models.TextChoices):
    """Counted quotas; checked with :func:`limit_check`. ``None`` in a plan means unlimited."""

    PRODUCTS = "products", "Products"
    MEMBERS = "members", "Members"
    ORDERS_PER_MONTH = "orders_per_month", "Orders per month"
    WEBHOOK_ENDPOINTS = "webhook_endpoints", "Webhook endpoints"


@dataclass(frozen=True)
class PlanName:
    code: str
    name: str


class PlanDirectory(Protocol):
    """Billing's plan table, as the checks here need it."""

    def default_features(self) -> dict[str, bool]: ...

    def default_limit(self, limit: str) -> int | None: ...

    def current_plan(self, organization: Any) -> PlanName: ...

    def plan_lifting_limit(self, *, current: PlanName, limit: str, needed: int) -> PlanName | None: ...

    def plan_with_feature(self, *, current: PlanName, feature: str) -> PlanName | None: ...


_directory: PlanDirectory | None = None


def directory_register(directory: PlanDirectory) -> None:
    """Billing calls it once at start-up."""
    global _directory  # noqa: PLW0603 - one directory per process
    _directory = directory


def _plans() -> PlanDirectory:
    if _directory is None:  # pragma: no cover - billing is always installed
        raise RuntimeError("No plan directory registered (is apps.billing in INSTALLED_APPS?).")
    return _directory


def organization_features(*, organization: Any) -> dict[str, bool]:
    """Every feature, on or off: the organization's copy, the default plan's for what it lacks."""
    own = organization.features or {}
    fallback = None if set(Feature.values) <= own.keys() else _plans().default_features()
    return {
        feature: bool(own[feature]) if feature in own else bool((fallback or {}).get(feature))
        for feature in Feature.values
    }


def organization_limit(*, organization: Any, limit: str) -> int | None:
    """One limit in force (``None``: unlimited); the default plan is read only when the organization lacks it."""
    own = organization.limits or {}
    return own[limit] if limit in own else _plans().default_limit(limit)


def feature_enabled(*, organization: Any, feature: str) -> bool:
    own = organization.features or {}
    if feature in own:
        return bool(own[feature])
    return bool(_plans().default_features().get(feature))


def feature_require(*, organization: Any, feature: str) -> None:
    """Refuse (402 ``FEATURE_NOT_IN_PLAN``) unless the organization's plan has ``feature``.

    The error names the feature, the current plan and the cheapest plan with it.
    Enforced: ``webhooks`` (endpoint create/update), ``analytics`` (every
    analytics read), ``graphql`` (members acting on their organization over GraphQL).
    """
    if feature_enabled(organization=organization, feature=feature):
        return
    plan = _plans().current_plan(organization)
    lifting = _plans().plan_with_feature(current=plan, feature=feature)
    raise FeatureNotInPlan(
        f"The {plan.name} plan does not include {Feature(feature).label.lower()}.",
        details={"feature": feature, "plan": plan.code, "upgrade_plan": lifting.code if lifting else None},
    )


def limit_lock(*, organization: Any) -> Any:
    """Lock the organization row (``FOR NO KEY UPDATE``) and return it fresh, with its current limits.

    Call it first in the transaction that counts and creates: a second
    concurrent create waits here and then counts the first one's row, so the
    limit cannot be overshot. Inserting rows that reference the organization
    is not blocked by this lock.
    """
    return type(organization).objects.select_for_update(no_key=True).get(pk=organization.pk)


def limit_check(*, organization: Any, limit: str, current: int | Callable[[], int], adding: int = 1) -> None:
    """Refuse (402 ``PLAN_LIMIT_REACHED``) when ``current + adding`` exceeds the organization's ``limit``.

    Call it inside the creating service's transaction, under a lock that
    serializes the creates it counts, and count ``current`` under that lock
    (or pass a callable: it is counted only when there is a limit). The error
    names the limit, the current count, the maximum, the current plan and the
    cheapest plan that lifts it.

    Enforced: ``products`` in ``apps.catalog.services.product_create``,
    ``members`` in ``apps.organizations.services`` (``membership_create`` and
    ``invitation_create``: members + open invitations), ``webhook_endpoints``
    in ``apps.webhooks.services`` (all three under :func:`limit_lock`), and
    ``orders_per_month`` in ``apps.orders.services.order_place`` (under the
    organization's order-number counter row, which serializes placements).

    No check grows with the organization's data: ``orders_per_month`` reads a
    counter kept by placement (one row, reconciled hourly from the orders
    table); the others pass a callable, so an unlimited plan counts nothing
    and a limited one counts at most about its limit's worth of rows.
    """
    maximum = organization_limit(organization=organization, limit=limit)
    if maximum is None:
        return
    # A callable is counted only when there is a limit: unlimited plans pay nothing.
    current = current() if callable(current) else current
    if current + adding <= maximum:
        return
    plan = _plans().current_plan(organization)
    lifting = _plans().plan_lifting_limit(current=plan, limit=limit, needed=current + adding)
    label = Limit(limit).label.lower()
    raise PlanLimitReached(
        f"The {plan.name} plan allows {maximum} {label}; you have {current}."
        + (f" The {lifting.name} plan allows more." if lifting else ""),
        details={
            "limit": limit,
            "current": current,
            "maximum": maximum,
            "plan": plan.code,
            "upgrade_plan": lifting.code if lifting else None,
        },
    )


def usage_period_start(*, organization: Any, now: datetime | None = None) -> datetime:
    """Start of the current calendar month in the organization's time zone (for ``orders_per_month``)."""
    zone = zoneinfo.ZoneInfo((organization.settings or {}).get("timezone") or "UTC")
    local = (now or timezone.now()).astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def rate_limit_factor(*, plan_code: str) -> float:
    """How much a plan raises a signed-in caller's API rates (``RATE_LIMIT_PLAN_FACTORS``; 1.0 when unnamed)."""
    from django.conf import settings

    return max(1.0, float(getattr(settings, "RATE_LIMIT_PLAN_FACTORS", {}).get(plan_code, 1.0)))
