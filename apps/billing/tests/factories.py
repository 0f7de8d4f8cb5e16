"""Billing factories: the tenant comes from the parent (an invoice's organization is its subscription's)."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.billing.models import BillingInterval, Invoice, Plan, Subscription, SubscriptionStatus
from apps.billing.plans_seed import PLANS, seed_default_plans
from apps.organizations.tests.factories import OrganizationFactory


def seeded_plan(code: str) -> Plan:
    seed_default_plans(Plan)
    return Plan.objects.get(code=code)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A live (active) subscription row; use ``on_plan`` to also put the organization on its plan."""

    class Meta:
        model = Subscription

    organization = factory.SubFactory(OrganizationFactory)
    plan = factory.LazyFunction(lambda: seeded_plan("pro"))
    interval = BillingInterval.MONTH
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test_{n:06d}")
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test_{n:06d}")
    status = SubscriptionStatus.ACTIVE
    current_period_start = factory.LazyFunction(timezone.now)
    current_period_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    synced_at = factory.LazyFunction(timezone.now)


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    subscription = factory.SubFactory(SubscriptionFactory)
    organization = factory.SelfAttribute("subscription.organization")
    stripe_invoice_id = factory.Sequence(lambda n: f"in_test_{n:06d}")
    status = Invoice.Status.PAID
    currency = "USD"
    amount_due_cents = 2900
    amount_paid_cents = 2900
    stripe_created_at = factory.LazyFunction(timezone.now)


def on_default_plan(organization):
    """As a new organization is: no copy of its own, so the default plan's values apply."""
    organization.features, organization.limits = {}, {}
    organization.save(update_fields=["features", "limits", "updated_at"])
    return organization


def on_plan(organization, code: str, **subscription):
    """Give the organization a live subscription to ``code`` and copy the plan onto it (as the webhooks do)."""
    from apps.billing.services import organization_plan_apply

    if code == next(p["code"] for p in PLANS if p["is_default"]):
        return on_default_plan(organization)
    SubscriptionFactory(organization=organization, plan=seeded_plan(code), **subscription)
    organization_plan_apply(organization=organization, actor=None)
    return organization
