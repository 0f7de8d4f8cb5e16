"""Analytics numbers equal a direct SQL aggregate over the orders, across days, states, tenants and currencies."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from apps.accounts.tests.factories import UserFactory
from apps.analytics import services
from apps.analytics.models import DailyMetric
from apps.catalog.tests.factories import ProductFactory
from apps.orders.tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 3, 1)
COUNTED = ("pending", "confirmed", "processing", "shipped", "delivered")


def at(day: int, hour: int = 12) -> datetime:
    return datetime(DAY0.year, DAY0.month, DAY0.day, hour, tzinfo=UTC) + timedelta(days=day)


@pytest.fixture
def shop(organization, other_organization):
    """Orders over five days in every state, for two customers (one ordering twice a day), two products,
    a second currency, a deleted customer, an order at 23:59 UTC, and another tenant's orders."""
    alice, bob = UserFactory(), UserFactory()
    mug, tee = ProductFactory(organization=organization, price_cents=1250), ProductFactory(organization=organization)
    plan = [
        # (day, hour, status, customer, lines, total, currency)
        (0, 9, "pending", alice, [(mug, 1)], 1250, "USD"),
        (0, 10, "confirmed", alice, [(mug, 2), (tee, 1)], 3500, "USD"),
        (0, 23, "delivered", bob, [(tee, 3)], 3000, "USD"),
        (0, 11, "cancelled", bob, [(tee, 5)], 5000, "USD"),
        (1, 8, "refunded", alice, [(mug, 4)], 5000, "USD"),
        (1, 9, "shipped", bob, [(mug, 1)], 1251, "USD"),  # odd total: average rounds half up
        (1, 9, "processing", alice, [(tee, 1)], 1000, "USD"),
        (1, 12, "draft", alice, [(tee, 1)], 1000, "USD"),
        (3, 0, "confirmed", None, [(mug, 1)], 1250, "USD"),  # the customer's account was deleted
        (3, 1, "pending", alice, [(tee, 2)], 2000, "EUR"),  # another currency: kept apart
        (4, 15, "delivered", bob, [(mug, 10)], 12500, "USD"),
    ]
    for day, hour, status, customer, lines, total, currency in plan:
        order = OrderFactory(
            organization=organization,
            user=customer,
            customer_email=customer.email if customer else "gone@example.com",
            status=status,
            total_cents=total,
            subtotal_cents=total,
            currency=currency,
            created_at=at(day, hour),
            lines=[],
        )
        for product, quantity in lines:
            OrderItemFactory(order=order, product=product, quantity=quantity)
    OrderFactory(
        organization=other_organization,
        status="confirmed",
        subtotal_cents=99900,
        total_cents=99900,
        created_at=at(0),
        lines=[],
    )
    services.analytics_refresh()
    return organization


def direct(sql: str, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def daily_url(organization, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/organizations/{organization.id}/analytics/daily/?{query}"


def test_daily_numbers_match_a_direct_sql_aggregate(shop, api_client_for, owner, django_assert_num_queries):
    # given: the same numbers computed straight from the orders
    expected = {
        row[0]: row[1:]
        for row in direct(
            """
            SELECT (created_at AT TIME ZONE 'UTC')::date, count(*), sum(total_cents),
                   round(avg(total_cents)), count(DISTINCT coalesce(user_id::text, customer_email))
              FROM orders_order
             WHERE organization_id = %s AND currency = 'USD' AND status = ANY(%s)
             GROUP BY 1
            """,
            [shop.id, list(COUNTED)],
        )
    }
    # when
    client = api_client_for(owner)  # opening the session is not part of the request
    with django_assert_num_queries(6):
        response = client.get(daily_url(shop, **{"from": "2026-03-01", "to": "2026-03-05"}))
    # then
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [r["day"] for r in rows] == [str(DAY0 + timedelta(days=n)) for n in range(5)]
    for row in rows:
        day = date.fromisoformat(row["day"])
        count, revenue, average, customers = expected.get(day, (0, 0, 0, 0))
        assert (row["order_count"], row["revenue_cents"], row["average_order_cents"], row["unique_customers"]) == (
            count,
            revenue,
            int(average),
            customers,
        ), day
    assert rows[0]["order_count"] == 3  # cancelled excluded; the 23:00 order is still day 0
    assert rows[1]["average_order_cents"] == 1126  # (1251 + 1000) / 2 = 1125.5 → 1126
    assert rows[2]["order_count"] == 0  # no orders: zeros, not a gap


def test_top_products_match_a_direct_sql_aggregate(shop, api_client_for, member):
    expected = direct(
        """
        SELECT (o.created_at AT TIME ZONE 'UTC')::date, i.product_id, sum(i.quantity), sum(i.total_cents)
          FROM orders_order o JOIN orders_orderitem i ON i.order_id = o.id
         WHERE o.organization_id = %s AND o.currency = 'USD' AND o.status = ANY(%s)
         GROUP BY 1, 2 ORDER BY 1, 4 DESC
        """,
        [shop.id, list(COUNTED)],
    )
    rows = api_client_for(member).get(daily_url(shop, **{"from": "2026-03-01", "to": "2026-03-05"})).json()["results"]
    got = [
        (date.fromisoformat(r["day"]), p["product_id"], p["quantity"], p["revenue_cents"])
        for r in rows
        for p in r["top_products"]
    ]
    assert got == [(d, str(pid), q, rev) for d, pid, q, rev in expected]
    assert [p["rank"] for p in rows[0]["top_products"]] == [1, 2]


def test_other_currencies_are_reported_apart(shop, api_client_for, owner):
    rows = api_client_for(owner).get(daily_url(shop, **{"from": "2026-03-04", "to": "2026-03-04", "currency": "EUR"}))
    assert rows.json()["results"][0]["revenue_cents"] == 2000


def test_summary_compares_with_the_previous_period(shop, api_client_for, admin):
    # given: 2026-03-03..05 against 2026-02-28..03-02
    def totals(start, end):
        return direct(
            """
            SELECT count(*), coalesce(sum(total_cents), 0), count(DISTINCT coalesce(user_id::text, customer_email))
              FROM orders_order
             WHERE organization_id = %s AND currency = 'USD' AND status = ANY(%s)
               AND created_at >= %s AND created_at < %s
            """,
            [shop.id, list(COUNTED), start, end],
        )[0]

    current, previous = totals(at(2, 0), at(5, 0)), totals(at(-1, 0), at(2, 0))
    # when
    response = api_client_for(admin).get(
        f"/api/v1/organizations/{shop.id}/analytics/summary/?from=2026-03-03&to=2026-03-05"
    )
    # then
    body = response.json()
    assert response.status_code == 200
    assert (body["current"]["order_count"], body["current"]["revenue_cents"], body["current"]["unique_customers"]) == (
        current
    )
    assert (
        body["previous"]["order_count"],
        body["previous"]["revenue_cents"],
        body["previous"]["unique_customers"],
    ) == previous
    assert body["previous"]["from"] == "2026-02-28"
    assert body["change"]["order_count"]["absolute"] == current[0] - previous[0]
    assert body["change"]["revenue_cents"]["percent"] == round((current[1] - previous[1]) * 100 / previous[1], 1)
    # unique customers over a period are distinct over the period, not a sum of days
    assert body["previous"]["unique_customers"] == 2


def test_views_refresh_concurrently_and_the_command_works(shop, organization):
    before = DailyMetric.objects.filter(organization=organization).count()
    OrderFactory(
        organization=organization, status="confirmed", subtotal_cents=700, total_cents=700, created_at=at(10), lines=[]
    )
    assert DailyMetric.objects.filter(organization=organization).count() == before  # a snapshot until refreshed
    call_command("refresh_analytics")
    assert DailyMetric.objects.filter(organization=organization).count() == before + 1
    from apps.analytics import tasks

    assert set(tasks.refresh_daily_metrics.delay().result) == {
        "analytics.daily_metrics",
        "analytics.daily_top_products",
    }


def test_period_validation(api_client_for, owner, organization):
    client = api_client_for(owner)
    assert client.get(daily_url(organization, **{"from": "2026-03-05", "to": "2026-03-01"})).status_code == 400
    assert client.get(daily_url(organization, **{"from": "2020-01-01", "to": "2026-03-01"})).status_code == 400
    assert client.get(daily_url(organization, currency="usd")).status_code == 400
    default = client.get(daily_url(organization)).json()["results"]
    assert len(default) == 30
