"""Plan limits and features: the checks, and every limit enforced at its service."""

import threading

import pytest
from django.db import connection

from apps.billing.models import Feature, Limit
from apps.billing.services import (
    organization_limits,
    plan_feature_require,
    plan_limit_check,
    usage_period_start,
)
from apps.billing.tests.factories import on_default_plan, on_plan
from apps.catalog import services as catalog_services
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.core.exceptions import FeatureNotInPlan, PlanLimitReached
from apps.organizations import services as organization_services
from apps.organizations.models import Membership
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_a_new_organization_is_on_the_free_plan_without_a_write(plans, user):
    organization = organization_services.organization_create(actor=user, name="Fresh")

    assert organization.limits == {}
    assert organization_limits(organization=organization) == plans["free"].limits


def test_limit_check_names_the_limit_count_and_the_plan_that_lifts_it(plans):
    organization = on_default_plan(OrganizationFactory())

    with pytest.raises(PlanLimitReached) as exc:
        plan_limit_check(organization=organization, limit=Limit.PRODUCTS, current=50)

    assert exc.value.http_status == 402
    assert exc.value.code == "PLAN_LIMIT_REACHED"
    assert exc.value.details == {
        "limit": "products",
        "current": 50,
        "maximum": 50,
        "plan": "free",
        "upgrade_plan": "pro",
    }


def test_limit_check_passes_below_the_limit_and_without_one(plans):
    free = on_default_plan(OrganizationFactory())
    enterprise = on_plan(OrganizationFactory(), "enterprise")

    plan_limit_check(organization=free, limit=Limit.PRODUCTS, current=49)
    plan_limit_check(organization=enterprise, limit=Limit.PRODUCTS, current=10**6)


def test_a_limit_the_organization_holds_is_checked_without_a_query(plans, django_assert_num_queries):
    # given: a copy of the orders limit only (unlimited); the other limits fall back to the default plan
    organization = OrganizationFactory(limits={Limit.ORDERS_PER_MONTH: None})

    with django_assert_num_queries(0):
        plan_limit_check(organization=organization, limit=Limit.ORDERS_PER_MONTH, current=lambda: 10**6)
    with pytest.raises(PlanLimitReached):
        plan_limit_check(organization=organization, limit=Limit.PRODUCTS, current=plans["free"].limit("products"))


def test_the_plan_that_lifts_a_limit_skips_plans_that_are_too_small(plans):
    organization = on_plan(OrganizationFactory(), "pro")

    with pytest.raises(PlanLimitReached) as exc:
        plan_limit_check(organization=organization, limit=Limit.MEMBERS, current=25)

    assert exc.value.details["plan"] == "pro"
    assert exc.value.details["upgrade_plan"] == "enterprise"


def test_feature_not_in_plan_names_the_plan_with_it(plans):
    organization = on_default_plan(OrganizationFactory())

    with pytest.raises(FeatureNotInPlan) as exc:
        plan_feature_require(organization=organization, feature=Feature.WEBHOOKS)
    with pytest.raises(FeatureNotInPlan) as graphql:
        plan_feature_require(organization=on_plan(OrganizationFactory(), "pro"), feature=Feature.GRAPHQL)

    assert exc.value.http_status == 402
    assert exc.value.code == "FEATURE_NOT_IN_PLAN"
    assert exc.value.details == {"feature": "webhooks", "plan": "free", "upgrade_plan": "pro"}
    assert graphql.value.details["upgrade_plan"] == "enterprise"


def test_feature_in_plan_passes(plans):
    plan_feature_require(organization=on_plan(OrganizationFactory(), "pro"), feature=Feature.WEBHOOKS)


def test_usage_period_starts_at_the_month_in_the_organization_time_zone(plans):
    from datetime import UTC, datetime

    organization = OrganizationFactory(settings={"currency": "USD", "timezone": "Asia/Tokyo"})

    start = usage_period_start(organization=organization, now=datetime(2026, 3, 31, 20, 0, tzinfo=UTC))

    assert start.isoformat() == "2026-04-01T00:00:00+09:00"


# --- enforced at the services ------------------------------------------------------------------


def test_product_create_is_refused_over_the_products_limit(plans):
    # given: a free organization with its 50 products
    organization = on_default_plan(OrganizationFactory())
    ProductFactory.create_batch(50, organization=organization)

    # when / then
    with pytest.raises(PlanLimitReached) as exc:
        catalog_services.product_create(organization=organization, data={"name": "One more", "price_cents": 1})
    assert exc.value.details["current"] == 50
    assert Product.objects.filter(organization=organization).count() == 50


def test_deleted_products_do_not_count(plans):
    organization = on_default_plan(OrganizationFactory())
    ProductFactory.create_batch(49, organization=organization)
    gone = ProductFactory(organization=organization)
    catalog_services.product_delete(product=gone)

    catalog_services.product_create(organization=organization, data={"name": "Fits", "price_cents": 1})


def test_product_api_answers_402_with_the_envelope(plans, api_client_for, organization, owner):
    on_default_plan(organization)
    ProductFactory.create_batch(50, organization=organization)

    response = api_client_for(owner).post(
        "/api/v1/products/", {"organization": str(organization.pk), "name": "Over", "price_cents": 1}, format="json"
    )

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "PLAN_LIMIT_REACHED"
    assert error["details"]["limit"] == "products"
    assert error["details"]["upgrade_plan"] == "pro"


def test_membership_create_is_refused_over_the_members_limit(plans):
    # given: a free organization (5 members) that has 5
    organization = on_default_plan(OrganizationFactory())
    for _ in range(5):
        MembershipFactory(organization=organization, role="member")

    # when / then
    with pytest.raises(PlanLimitReached) as exc:
        MembershipFactory(organization=organization, role="member")
    assert exc.value.details["limit"] == "members"
    assert Membership.objects.filter(organization=organization).count() == 5


def test_open_invitations_hold_seats(plans):
    # given: 3 members and 2 pending invitations fill the 5 free seats
    organization = on_default_plan(OrganizationFactory())
    owner = MembershipFactory(organization=organization, role="owner").user
    for _ in range(2):
        MembershipFactory(organization=organization, role="member")
    InvitationFactory.create_batch(2, organization=organization)

    # when / then
    with pytest.raises(PlanLimitReached) as exc:
        organization_services.invitation_create(
            actor=owner, organization=organization, email="sixth@example.com", role="viewer"
        )
    assert exc.value.details["current"] == 5


def test_invitation_api_answers_402(plans, api_client_for):
    organization = on_default_plan(OrganizationFactory())
    owner = MembershipFactory(organization=organization, role="owner").user
    for _ in range(4):
        MembershipFactory(organization=organization, role="viewer")

    response = api_client_for(owner).post(
        f"/api/v1/organizations/{organization.pk}/invitations/", {"email": "x@example.com", "role": "viewer"}
    )

    assert response.status_code == 402
    assert response.json()["error"]["details"]["limit"] == "members"


def test_a_bigger_plan_lifts_the_limit(plans):
    organization = on_plan(OrganizationFactory(), "pro")
    ProductFactory.create_batch(50, organization=organization)

    catalog_services.product_create(organization=organization, data={"name": "Fifty-first", "price_cents": 1})


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_never_exceed_the_limit():
    # given: a free organization one product short of its 50, and 6 creators racing in real transactions
    from apps.billing.models import Plan
    from apps.billing.plans_seed import seed_default_plans

    seed_default_plans(Plan)
    organization = on_default_plan(OrganizationFactory())
    ProductFactory.create_batch(49, organization=organization)
    results: list[str] = []
    barrier = threading.Barrier(6)

    def create(n: int) -> None:
        try:
            barrier.wait()
            catalog_services.product_create(organization=organization, data={"name": f"Racer {n}", "price_cents": 1})
            results.append("ok")
        except PlanLimitReached:
            results.append("limit")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: exactly one got the last slot
    assert sorted(results) == ["limit"] * 5 + ["ok"]
    assert Product.objects.filter(organization=organization).count() == 50


def test_orders_per_month_is_enforced_when_placing_an_order(plans, organization, user):
    # given: a plan allowing one order a month, and one order already placed
    from apps.orders import services as order_services
    from apps.orders.models import Order

    organization.limits = {**organization_limits(organization=organization), "orders_per_month": 1}
    organization.save(update_fields=["limits", "updated_at"])
    product = ProductFactory(organization=organization, inventory_quantity=5)
    address = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "US"}
    order_services.order_place(
        user=user, organization=organization, items=[{"product": product.pk, "quantity": 1}], shipping_address=address
    )
    # when / then: the second is refused and nothing of it is kept
    with pytest.raises(PlanLimitReached) as exc:
        order_services.order_place(
            user=user,
            organization=organization,
            items=[{"product": product.pk, "quantity": 1}],
            shipping_address=address,
        )
    assert exc.value.details["limit"] == "orders_per_month"
    assert exc.value.details["current"] == 1
    assert Order.objects.filter(organization=organization).count() == 1
    product.refresh_from_db()
    assert product.inventory_quantity == 4


def test_webhook_endpoints_need_the_feature_and_respect_the_limit(plans, owner, organization):
    from apps.webhooks import services as webhook_services

    on_default_plan(organization)  # free: no webhooks
    with pytest.raises(FeatureNotInPlan):
        webhook_services.webhook_endpoint_create(actor=owner, organization=organization, url="https://h.example.com/a")
    on_plan(organization, "pro")
    organization.limits = {**organization.limits, "webhook_endpoints": 1}
    organization.save(update_fields=["limits", "updated_at"])
    webhook_services.webhook_endpoint_create(actor=owner, organization=organization, url="https://h.example.com/a")
    with pytest.raises(PlanLimitReached) as exc:
        webhook_services.webhook_endpoint_create(actor=owner, organization=organization, url="https://h.example.com/b")
    assert exc.value.details["limit"] == "webhook_endpoints"


def test_an_unlimited_plan_counts_nothing_when_creating(plans, owner, organization):
    # given: an organization without a products limit (the enterprise plan)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    on_plan(organization, "enterprise")
    ProductFactory.create_batch(3, organization=organization)
    # when
    with CaptureQueriesContext(connection) as queries:
        catalog_services.product_create(
            actor=owner, organization=organization, data={"name": "One more", "price_cents": 100}
        )
    # then: no statement counts the organization's products
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "catalog_product" in q["sql"]]
    assert Product.objects.filter(organization=organization).count() == 4
