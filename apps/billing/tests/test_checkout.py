"""Checkout, the billing portal and the Stripe customer, against a real local Stripe (localstripe)."""

import pytest

from apps.audit.models import AuditLog
from apps.billing.models import CheckoutSession
from apps.billing.services import redirect_url_allowed
from apps.billing.tests.factories import on_default_plan, on_plan

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/billing/checkout"
PORTAL = "/api/v1/billing/portal"


def body(organization, **overrides):
    return {
        "organization": str(organization.pk),
        "plan": "pro",
        "interval": "month",
        "success_url": "https://app.example.com/billing/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example.com/billing",
        **overrides,
    }


@pytest.fixture
def owner_client(api_client_for, organization, owner):
    on_default_plan(organization)
    return api_client_for(owner)


def test_checkout_opens_a_stripe_session_for_the_organization_customer(stripe_prices, owner_client, organization):
    # when
    response = owner_client.post(CHECKOUT, body(organization), format="json")

    # then: a real session at the local Stripe, for a customer stored on the organization
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["session_id"].startswith("cs_test_")
    assert data["checkout_url"].endswith(f"/_config/checkout/{data['session_id']}")
    organization.refresh_from_db()
    assert organization.stripe_customer_id.startswith("cus_")
    checkout = CheckoutSession.objects.get(stripe_session_id=data["session_id"])
    assert (checkout.plan.code, checkout.interval, checkout.status) == ("pro", "month", "open")
    assert AuditLog.objects.filter(action="billing.checkout_started", resource_id=str(checkout.pk)).exists()


def test_checkout_session_at_stripe_carries_plan_and_organization(
    stripe_prices, stripe_api, owner_client, organization
):
    response = owner_client.post(CHECKOUT, body(organization, interval="year"), format="json")

    session = stripe_api.client().v1.checkout.sessions.retrieve(response.json()["session_id"])
    assert session.mode == "subscription"
    assert session.customer == organization.__class__.objects.get(pk=organization.pk).stripe_customer_id
    assert session.metadata["organization_id"] == str(organization.pk)
    assert session.client_reference_id == str(organization.pk)
    assert session.amount_total == stripe_prices["pro"].yearly_price_cents


def test_the_customer_is_created_once(stripe_prices, owner_client, organization):
    first = owner_client.post(CHECKOUT, body(organization), format="json")
    organization.refresh_from_db()
    customer = organization.stripe_customer_id
    second = owner_client.post(CHECKOUT, body(organization), format="json")

    organization.refresh_from_db()
    assert first.status_code == second.status_code == 201
    assert first.json()["session_id"] != second.json()["session_id"]  # no key: two sessions
    assert organization.stripe_customer_id == customer
    assert AuditLog.objects.filter(action="organization.billing_customer_created").count() == 1


def test_same_idempotency_key_returns_the_same_session(stripe_prices, owner_client, organization):
    first = owner_client.post(CHECKOUT, body(organization), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = owner_client.post(CHECKOUT, body(organization), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert CheckoutSession.objects.filter(organization=organization).count() == 1


def test_same_idempotency_key_with_another_body_is_refused(stripe_prices, owner_client, organization):
    owner_client.post(CHECKOUT, body(organization), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    response = owner_client.post(
        CHECKOUT, body(organization, interval="year"), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_stripe_receives_an_idempotency_key_derived_from_ours(stripe_prices, owner_client, organization, monkeypatch):
    # given: a spy on the real client's call (the request still goes to the local Stripe)
    from apps.billing.stripe_api import stripe_client

    sessions = stripe_client().v1.checkout.sessions
    create, seen = sessions.create, []

    def record(*args, **kwargs):
        seen.append(kwargs.get("options", {}).get("idempotency_key"))
        return create(*args, **kwargs)

    monkeypatch.setattr(sessions, "create", record)

    # when
    owner_client.post(CHECKOUT, body(organization), format="json", HTTP_IDEMPOTENCY_KEY="order-42")

    # then
    assert seen == [f"olympus-checkout-{organization.pk}-order-42"]


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("success_url", "https://evil.example.net/steal"),
        ("cancel_url", "javascript://app.example.com/x"),
        ("success_url", "https://app.example.com.evil.net/"),
    ],
)
def test_redirects_must_be_on_allowed_hosts(stripe_prices, owner_client, organization, field, url):
    response = owner_client.post(CHECKOUT, body(organization, **{field: url}), format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_redirect_hosts_admit_subdomains_only_with_a_leading_dot(settings):
    settings.BILLING_REDIRECT_HOSTS = ["app.example.com", ".shop.example.com"]

    assert redirect_url_allowed("https://app.example.com/x")
    assert redirect_url_allowed("https://eu.shop.example.com/x")
    assert redirect_url_allowed("https://shop.example.com/x")
    assert not redirect_url_allowed("https://eu.app.example.com/x")
    assert not redirect_url_allowed("ftp://app.example.com/x")


@pytest.mark.parametrize(("plan", "interval"), [("free", "month"), ("nope", "month"), ("pro", "week")])
def test_unknown_or_free_plans_cannot_be_bought(stripe_prices, owner_client, organization, plan, interval):
    response = owner_client.post(CHECKOUT, body(organization, plan=plan, interval=interval), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_an_organization_with_a_subscription_goes_to_the_portal_instead(stripe_prices, owner_client, organization):
    on_plan(organization, "pro")

    response = owner_client.post(CHECKOUT, body(organization, plan="enterprise"), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"reason": "already_subscribed", "plan": "pro"}


def test_checkout_answers_503_when_stripe_is_unreachable(plans, owner_client, organization, settings):
    plans["pro"].stripe_price_monthly = "price_unreachable"
    plans["pro"].save()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    response = owner_client.post(CHECKOUT, body(organization), format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert not CheckoutSession.objects.exists()


def test_checkout_answers_503_without_a_stripe_key(plans, owner_client, organization, settings):
    plans["pro"].stripe_price_monthly = "price_x"
    plans["pro"].save()
    settings.STRIPE_SECRET_KEY = ""

    response = owner_client.post(CHECKOUT, body(organization), format="json")

    assert response.status_code == 503


# --- billing portal ------------------------------------------------------------------------------


def test_portal_returns_the_stripe_portal_url(stripe_prices, owner_client, organization):
    owner_client.post(CHECKOUT, body(organization), format="json")  # creates the customer

    response = owner_client.post(
        PORTAL, {"organization": str(organization.pk), "return_url": "https://app.example.com/billing"}
    )

    assert response.status_code == 200, response.content
    assert "/_config/billing_portal/bps_" in response.json()["url"]


def test_portal_before_any_checkout_is_a_conflict(stripe_api, owner_client, organization):
    response = owner_client.post(
        PORTAL, {"organization": str(organization.pk), "return_url": "https://app.example.com/billing"}
    )

    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "no_customer"


def test_portal_return_url_must_be_allowed(stripe_api, owner_client, organization):
    response = owner_client.post(PORTAL, {"organization": str(organization.pk), "return_url": "https://evil.test/"})

    assert response.status_code == 400
    assert "return_url" in response.json()["error"]["details"]


# --- redirect URLs as a browser reads them (issue 15) ------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@localhost/x",
        "https://evil.example\\@app.example.com/x",
        "https://evil.example@app.example.com/x",
        "https://app.example.com\t.evil.example/x",
    ],
)
@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
def test_checkout_refuses_redirects_a_browser_reads_differently(stripe_api, owner_client, organization, field, url):
    response = owner_client.post(CHECKOUT, body(organization, **{field: url}), format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize("url", ["https://evil.example\\@localhost/x", "https://evil.example@localhost/x"])
def test_portal_refuses_return_urls_a_browser_reads_differently(stripe_api, owner_client, organization, url):
    response = owner_client.post(PORTAL, {"organization": str(organization.pk), "return_url": url}, format="json")

    assert response.status_code == 400
    assert "return_url" in response.json()["error"]["details"]
