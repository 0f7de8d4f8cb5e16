"""dailyMetrics over GraphQL: the analytics selector's numbers, REST's period rules and permission."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.analytics import services
from apps.catalog.tests.factories import ProductFactory
from apps.orders.tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

DAILY = """
query($organizationId: UUID!, $from: Date, $to: Date, $currency: String) {
  dailyMetrics(organizationId: $organizationId, from: $from, to: $to, currency: $currency) {
    day currency orderCount revenueCents averageOrderCents uniqueCustomers
    topProducts { rank productId name sku quantity revenueCents }
  }
}"""


@pytest.fixture
def shop(organization):
    mug = ProductFactory(organization=organization, name="Mug", price_cents=1250)
    for day, hour, status, total in [(1, 9, "confirmed", 2500), (1, 15, "delivered", 1250), (2, 10, "cancelled", 5000)]:
        order = OrderFactory(
            organization=organization,
            status=status,
            total_cents=total,
            subtotal_cents=total,
            created_at=datetime(2026, 3, day, hour, tzinfo=UTC),
            lines=[],
        )
        OrderItemFactory(order=order, product=mug, quantity=total // 1250)
    services.analytics_refresh()
    return organization


def test_daily_metrics_equal_the_rest_endpoint(gql, shop, owner, api_client_for):
    variables = {"organizationId": str(shop.pk), "from": "2026-03-01", "to": "2026-03-03"}

    result = gql(DAILY, variables, user=owner)
    rest = api_client_for(owner).get(
        f"/api/v1/organizations/{shop.pk}/analytics/daily/", {"from": "2026-03-01", "to": "2026-03-03"}
    )

    assert result.errors == []
    rows = result.data["dailyMetrics"]
    assert [row["day"] for row in rows] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert rows[0]["orderCount"] == 2
    assert rows[0]["revenueCents"] == 3750
    assert rows[1]["orderCount"] == 0  # the cancelled order does not count
    for row, rest_row in zip(rows, rest.json()["results"], strict=True):
        assert row["orderCount"] == rest_row["order_count"]
        assert row["revenueCents"] == rest_row["revenue_cents"]
        assert row["averageOrderCents"] == rest_row["average_order_cents"]
        assert row["uniqueCustomers"] == rest_row["unique_customers"]
        assert [p["name"] for p in row["topProducts"]] == [p["name"] for p in rest_row["top_products"]]


def test_members_may_read_analytics_but_viewers_may_not(gql, shop, member, viewer):
    variables = {"organizationId": str(shop.pk), "from": "2026-03-01", "to": "2026-03-01"}

    assert gql(DAILY, variables, user=member).errors == []
    assert gql(DAILY, variables, user=viewer).codes == ["FORBIDDEN"]


def test_another_tenants_analytics_are_not_found(gql, shop, outsider):
    result = gql(DAILY, {"organizationId": str(shop.pk)}, user=outsider)

    assert result.codes == ["NOT_FOUND"]


def test_period_rules_are_rests(gql, shop, owner):
    too_long = gql(DAILY, {"organizationId": str(shop.pk), "from": "2024-01-01", "to": "2026-03-01"}, user=owner)
    reversed_ = gql(DAILY, {"organizationId": str(shop.pk), "from": "2026-03-05", "to": "2026-03-01"}, user=owner)

    assert too_long.codes == reversed_.codes == ["VALIDATION_ERROR"]
    assert "from" in too_long.error["extensions"]["details"]
