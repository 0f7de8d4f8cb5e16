"""Billing endpoints: plans, an organization's billing overview, cancel and resume."""

import pytest

from apps.audit.models import AuditLog
from apps.billing.models import Subscription
from apps.billing.tests.factories import InvoiceFactory, SubscriptionFactory, on_default_plan, on_plan
from apps.billing.tests.helpers import deliver, stripe_subscribe
from apps.catalog.tests.factories import ProductFactory
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def billing_url(organization, suffix=""):
    return f"/api/v1/organizations/{organization.pk}/billing/{suffix}"


# --- plans -------------------------------------------------------------------------------------------


def test_plans_are_public_with_prices_features_and_limits(api_client, plans, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api_client.get("/api/v1/billing/plans/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [plan["code"] for plan in results] == ["free", "pro", "enterprise"]
    pro = results[1]
    assert pro["prices"]["month"] == {"amount_cents": 2900, "currency": "USD", "available": False}
    assert pro["prices"]["year"]["amount_cents"] == 29000
    assert pro["features"] == ["webhooks", "analytics"]
    assert pro["limits"] == {"products": 1000, "members": 25, "orders_per_month": 10000, "webhook_endpoints": 10}
    assert results[2]["limits"]["products"] is None
    assert results[0]["is_default"] is True


def test_plans_show_which_intervals_can_be_bought(api_client, stripe_prices):
    results = api_client.get("/api/v1/billing/plans/").json()["results"]

    assert results[1]["prices"]["month"]["available"] is True
    assert results[0]["prices"]["month"]["available"] is False


def test_inactive_plans_are_not_offered(api_client, plans):
    plans["enterprise"].is_active = False
    plans["enterprise"].save()

    results = api_client.get("/api/v1/billing/plans/").json()["results"]

    assert [plan["code"] for plan in results] == ["free", "pro"]


# --- overview ----------------------------------------------------------------------------------------


def test_overview_of_a_free_organization_shows_usage_against_each_limit(
    api_client_for, plans, organization, owner, admin
):
    on_default_plan(organization)
    ProductFactory.create_batch(3, organization=organization)

    response = api_client_for(admin).get(billing_url(organization))

    assert response.status_code == 200
    data = response.json()
    assert data["organization"] == str(organization.pk)
    assert data["plan"] == {"code": "free", "name": "Free"}
    assert data["subscription"] is None
    assert data["features"] == {"webhooks": False, "analytics": False, "graphql": False}
    assert data["usage"]["products"] == {"used": 3, "limit": 50}
    assert data["usage"]["members"] == {"used": 2, "limit": 5}
    assert data["usage"]["orders_per_month"] == {"used": 0, "limit": 100}
    assert data["usage"]["webhook_endpoints"] == {"used": None, "limit": 0}
    assert data["invoices"] == []


def test_overview_shows_the_subscription_period_and_recent_invoices(
    api_client_for, plans, organization, owner, django_assert_num_queries
):
    on_plan(organization, "pro", cancel_at_period_end=True)
    subscription = Subscription.objects.get(organization=organization)
    InvoiceFactory.create_batch(3, subscription=subscription)
    client = api_client_for(owner)

    with django_assert_num_queries(9):
        response = client.get(billing_url(organization))

    data = response.json()
    assert data["plan"]["code"] == "pro"
    assert data["subscription"]["status"] == "active"
    assert data["subscription"]["cancel_at_period_end"] is True
    assert data["subscription"]["current_period_end"] is not None
    assert data["usage"]["products"]["limit"] == 1000
    assert len(data["invoices"]) == 3
    assert data["invoices"][0]["amount_paid_cents"] == 2900


def test_overview_never_shows_another_organizations_invoices(api_client_for, plans, organization, owner):
    on_plan(organization, "pro")
    InvoiceFactory(subscription=SubscriptionFactory())  # another organization's

    assert api_client_for(owner).get(billing_url(organization)).json()["invoices"] == []


# --- cancel / resume (against the local Stripe) -----------------------------------------------------


@pytest.fixture
def subscribed(client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization):
    """The organization on pro through a real subscription at the local Stripe, applied by its webhook."""
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    deliver(client, django_capture_on_commit_callbacks, subscription, "customer.subscription.created")
    return subscription


def test_cancel_sets_cancel_at_period_end_at_stripe_and_here(
    subscribed, stripe_api, api_client_for, organization, owner
):
    response = api_client_for(owner).post(billing_url(organization, "cancel"))

    assert response.status_code == 200, response.content
    assert response.json()["subscription"]["cancel_at_period_end"] is True
    assert response.json()["plan"]["code"] == "pro"  # the plan stays until the period ends
    assert stripe_api.client().v1.subscriptions.retrieve(subscribed.id).cancel_at_period_end is True
    entry = AuditLog.objects.get(action="subscription.updated")
    assert entry.actor_id == owner.pk
    assert entry.new_values == {"cancel_at_period_end": True}
    assert OutboxEvent.objects.filter(event_type="subscription.updated").count() == 2


def test_resume_undoes_the_cancellation(subscribed, stripe_api, api_client_for, organization, owner):
    client = api_client_for(owner)
    client.post(billing_url(organization, "cancel"))

    response = client.post(billing_url(organization, "resume"))

    assert response.status_code == 200
    assert response.json()["subscription"]["cancel_at_period_end"] is False
    assert stripe_api.client().v1.subscriptions.retrieve(subscribed.id).cancel_at_period_end is False


def test_cancel_twice_is_harmless(subscribed, api_client_for, organization, owner):
    client = api_client_for(owner)
    client.post(billing_url(organization, "cancel"))

    response = client.post(billing_url(organization, "cancel"))

    assert response.status_code == 200
    assert AuditLog.objects.filter(action="subscription.updated").count() == 1


@pytest.mark.parametrize("action", ["cancel", "resume"])
def test_cancel_or_resume_without_a_subscription_is_a_conflict(api_client_for, plans, organization, owner, action):
    on_default_plan(organization)

    response = api_client_for(owner).post(billing_url(organization, action))

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"reason": "no_subscription"}
