"""Plans, and the limit/feature checks every service that creates a limited thing calls.

An organization's ``features`` and ``limits`` are a copy of its plan's, written
here only (from the subscription webhooks and plan edits), never by a client.
A key missing from an organization's copy means "what the default plan says":
organizations that never had a subscription are on ``free`` without a write.

The checks themselves live in ``apps.entitlements`` (the apps below billing
use them without importing billing); the names ``plan_limit_check``,
``plan_feature_require``, ... are kept here as aliases for billing's own code.
"""

from __future__ import annotations

from typing import Any

import stripe
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from apps.audit.services import UNSET, record
from apps.billing.models import LIVE_STATUSES, BillingInterval, Feature, Limit, Plan, Subscription
from apps.billing.plans_seed import DEFAULT_PLAN_CODE, PLANS
from apps.billing.stripe_api import stripe_client, stripe_errors
from apps.core.services import model_update
from apps.entitlements import PlanName, organization_features, organization_limit, rate_limit_factor, usage_period_start
from apps.entitlements import feature_enabled as plan_feature_enabled
from apps.entitlements import feature_require as plan_feature_require
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.organizations.models import Organization
from apps.organizations.selectors import scope_to_organization


def default_plan() -> Plan:
    """The plan of organizations without a live subscription (``free`` unless staff chose another)."""
    plan = Plan.objects.filter(is_default=True).first() or Plan.objects.filter(code=DEFAULT_PLAN_CODE).first()
    if plan is None:  # an empty plan table (e.g. flushed test database): the seed's free plan, unsaved
        values = next(p for p in PLANS if p["code"] == DEFAULT_PLAN_CODE)
        return Plan(**values)
    return plan


def live_subscription(*, organization: Organization | Any) -> Subscription | None:
    """The subscription that gives the organization its plan: the newest live one, if any."""
    organization_id: Any = getattr(organization, "pk", organization)  # an Organization or its id
    return (
        Subscription.objects.select_related("plan")
        .filter(organization_id=organization_id, status__in=LIVE_STATUSES)
        .order_by("-created_at")
        .first()
    )


def organization_plan(*, organization: Organization) -> Plan:
    subscription = live_subscription(organization=organization)
    return subscription.plan if subscription is not None else default_plan()


def plan_features(plan: Plan) -> dict[str, bool]:
    """A plan's features as the organization stores them: every known feature, on or off."""
    return {feature: feature in plan.features for feature in Feature.values}


def plan_limits(plan: Plan) -> dict[str, int | None]:
    """A plan's limits as the organization stores them: every known limit (``None``: unlimited)."""
    return {limit: (plan.limits or {}).get(limit) for limit in Limit.values}


def organization_limits(*, organization: Organization) -> dict[str, int | None]:
    """The limits in force: the organization's copy, and the default plan's for what it lacks."""
    own = organization.limits or {}
    fallback = None if set(Limit.values) <= own.keys() else plan_limits(default_plan())
    return {limit: own[limit] if limit in own else (fallback or {}).get(limit) for limit in Limit.values}


def _lifting_plan(*, limit: str, needed: int, current_code: str) -> Plan | None:
    for plan in Plan.objects.filter(is_active=True).exclude(code=current_code).order_by("position", "code"):
        maximum = plan.limit(limit)
        if limit in (plan.limits or {}) and (maximum is None or maximum >= needed):
            return plan
    return None


class PlanTable:
    """The plan table as ``apps.entitlements`` reads it (registered when billing is ready)."""

    def default_features(self) -> dict[str, bool]:
        return plan_features(default_plan())

    def default_limit(self, limit: str) -> int | None:
        return default_plan().limit(limit)

    def current_plan(self, organization: Any) -> PlanName:
        plan = organization_plan(organization=organization)
        return PlanName(code=plan.code, name=plan.name)

    def plan_lifting_limit(self, *, current: PlanName, limit: str, needed: int) -> PlanName | None:
        plan = _lifting_plan(limit=limit, needed=needed, current_code=current.code)
        return PlanName(code=plan.code, name=plan.name) if plan else None

    def plan_with_feature(self, *, current: PlanName, feature: str) -> PlanName | None:
        plan = (
            Plan.objects.filter(is_active=True, features__contains=[feature])
            .exclude(code=current.code)
            .order_by("position", "code")
            .first()
        )
        return PlanName(code=plan.code, name=plan.name) if plan else None


def user_rate_limit_factor(user: Any) -> float:
    """How much the plans of the user's organizations raise their API rates: the highest (one query).

    Registered with ``apps.core.throttles``; read only when a base rate would refuse the user.
    """
    codes = set(
        scope_to_organization(Subscription.objects.filter(status__in=LIVE_STATUSES), user=user).values_list(
            "plan__code", flat=True
        )
    )
    return max((rate_limit_factor(plan_code=code) for code in codes), default=1.0)


def organization_plan_apply(*, organization: Organization, actor: AbstractBaseUser | None | Any = UNSET) -> Plan:
    """Copy the plan the organization is on (newest live subscription, else default) onto it.

    Runs inside the caller's transaction with ``organization`` locked;
    audited (``organization.plan_changed``) when features or limits change.
    """
    plan = organization_plan(organization=organization)
    data = {"features": plan_features(plan), "limits": plan_limits(plan)}
    changes = model_update(instance=organization, fields=["features", "limits"], data=data)
    if changes:
        record(
            action="organization.plan_changed",
            resource_type="organization",
            resource_id=organization.pk,
            organization=organization,
            old_values=changes.old,
            new_values={**changes.new, "plan": plan.code},
            actor=actor,
        )
    return plan


PLAN_FIELDS = (
    "name",
    "description",
    "position",
    "is_active",
    "is_default",
    "currency",
    "monthly_price_cents",
    "yearly_price_cents",
    "stripe_price_monthly",
    "stripe_price_yearly",
    "features",
    "limits",
)


def plan_save(*, actor: AbstractBaseUser | None, plan: Plan, data: dict[str, Any] | None = None) -> Plan:
    """Create or change a plan (admin) and re-copy it onto the organizations that are on it.

    Organizations on the default plan that never had a subscription follow it
    without a write (they read the default plan's values).
    """
    with transaction.atomic():
        creating = plan._state.adding
        wants_default = (data or {}).get("is_default", plan.is_default if creating else False)
        previous_default = Plan.objects.select_for_update().filter(is_default=True).exclude(pk=plan.pk).first()
        if wants_default and previous_default is not None:
            # One default plan: the new one takes over (its organizations are re-copied below).
            Plan.objects.filter(pk=previous_default.pk).update(is_default=False)
        if creating:
            plan.full_clean()
            plan.save(force_insert=True)
            record(
                action="plan.created",
                resource_type="plan",
                resource_id=plan.pk,
                new_values={name: getattr(plan, name) for name in ("code", *PLAN_FIELDS)},
                actor=actor,
            )
            if plan.is_default:
                _plan_reapply(plan=plan, actor=actor)
            return plan
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        changes = model_update(instance=locked, fields=PLAN_FIELDS, data=data or {})
        if not changes:
            return locked
        record(
            action="plan.updated",
            resource_type="plan",
            resource_id=locked.pk,
            old_values=changes.old,
            new_values=changes.new,
            actor=actor,
        )
        if {"features", "limits", "is_default"} & set(changes.fields):
            _plan_reapply(plan=locked, actor=actor)
    return locked


def _plan_reapply(*, plan: Plan, actor: AbstractBaseUser | None) -> None:
    live = Subscription.objects.filter(status__in=LIVE_STATUSES)
    on_plan = Organization.objects.filter(subscriptions__in=live.filter(plan=plan))
    if plan.is_default:
        # Organizations without a live subscription that carry an explicit copy of the default plan.
        on_plan = on_plan | Organization.objects.exclude(subscriptions__in=live).exclude(limits={})
    ids = list(on_plan.values_list("pk", flat=True).distinct())
    for organization in Organization.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"):
        organization_plan_apply(organization=organization, actor=actor)


def _stripe_product_id(client: Any, plan: Plan) -> str:
    product_id = f"olympus_{plan.code}"
    try:
        client.v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "http_status", None) != 404:
            raise
        client.v1.products.create(params={"id": product_id, "name": f"Olympus {plan.name}"})
    return product_id


def plan_prices_sync(*, actor: AbstractBaseUser | None = None) -> dict[str, dict[str, str]]:
    """Create the Stripe prices of every active paid plan (once) and store their ids on the plans.

    Prices are found again by lookup key ``olympus_<plan>_<interval>``, so a
    second run changes nothing; a changed amount gets a new price (Stripe
    prices are immutable) that takes the lookup key over. For `make run`
    demo mode against localstripe and for setting up a Stripe test account;
    returns ``{plan: {interval: price id}}``.
    """
    client = stripe_client()
    result: dict[str, dict[str, str]] = {}
    for plan in Plan.objects.filter(is_active=True).order_by("position", "code"):
        data: dict[str, str] = {}
        for interval in BillingInterval.values:
            amount = plan.price_cents(interval)
            if not amount:
                continue
            key = f"olympus_{plan.code}_{interval}"
            with stripe_errors("syncing plan prices"):
                found = client.v1.prices.list(params={"lookup_keys": [key], "limit": 1}).data
                price = found[0] if found else None
                if price is None or price.unit_amount != amount or price.currency != plan.currency.lower():
                    price = client.v1.prices.create(
                        params={
                            "currency": plan.currency.lower(),
                            "unit_amount": amount,
                            "recurring": {"interval": interval},
                            "product": _stripe_product_id(client, plan),
                            "lookup_key": key,
                            "transfer_lookup_key": True,
                            "nickname": f"{plan.name} ({interval}ly)",
                        }
                    )
            data[f"stripe_price_{interval}ly"] = price.id
        if data:
            plan_save(actor=actor, plan=plan, data=data)
            result[plan.code] = data
    return result


__all__ = [
    "organization_features",
    "organization_limit",
    "plan_feature_enabled",
    "plan_feature_require",
    "plan_limit_check",
    "plan_limit_lock",
    "usage_period_start",
]
