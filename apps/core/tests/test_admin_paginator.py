"""Admin changelists cost the same on a million rows: a bounded count and no list of every organization.

``make bench-scale`` measured the orders, products and audit changelists at
0.1 of their small-database speed: each page view counted the whole table
(twice for products) and rendered a "by organization" link for each of the
10,000 organizations. Now a page counts at most ``CAP + 1`` rows (a longer
list shows the planner's estimate, "about N") and superusers' organization
filter lists only the organization chosen.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.admin_paginator import BoundedCountPaginator
from apps.orders.models import Order
from apps.orders.tests.factories import OrderFactory
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_a_short_list_is_counted_exactly(organization):
    OrderFactory.create_batch(3, organization=organization)

    paginator = BoundedCountPaginator(Order.objects.order_by("-created_at"), 100)

    assert (paginator.count, paginator.approximate) == (3, False)


def test_a_long_list_is_counted_up_to_the_cap_then_estimated(organization, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "CAP", 2)
    OrderFactory.create_batch(5, organization=organization)
    paginator = BoundedCountPaginator(Order.objects.order_by("-created_at"), 100)

    with CaptureQueriesContext(connection) as queries:
        count = paginator.count

    assert paginator.approximate is True
    assert count >= 3  # the planner's estimate, never below what was counted
    counting = queries.captured_queries[0]["sql"]
    assert "LIMIT 3" in counting, counting
    assert queries.captured_queries[1]["sql"].startswith("EXPLAIN"), queries.captured_queries


@pytest.mark.parametrize("url", ["/admin/orders/order/", "/admin/catalog/product/", "/admin/audit/auditlog/"])
def test_changelists_never_count_the_whole_table(client, staff_user, organization, url):
    OrderFactory(organization=organization)
    client.force_login(staff_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)

    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the page counts its rows"
    assert all("LIMIT" in sql for sql in counts), counts


def test_an_approximate_total_says_about(client, staff_user, organization, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "CAP", 2)
    OrderFactory.create_batch(3, organization=organization)
    client.force_login(staff_user)

    page = client.get("/admin/orders/order/").content.decode()

    assert "about " in page


@pytest.mark.parametrize("organizations", [1, 30])
def test_a_superusers_orders_page_does_not_grow_with_the_organizations(
    client, staff_user, organizations, django_assert_num_queries
):
    # given: many organizations with an order each
    for organization in OrganizationFactory.create_batch(organizations):
        OrderFactory(organization=organization)
    client.force_login(staff_user)
    client.get("/admin/orders/order/")

    # then: session, user, the bounded count, the page (organizations and customers joined); no organization list
    with django_assert_num_queries(4):
        response = client.get("/admin/orders/order/")

    specs = [spec.title for spec in response.context["cl"].filter_specs if spec.has_output()]
    assert "organization" not in specs


def test_a_superuser_still_filters_by_the_organization_chosen(client, staff_user, organization, other_organization):
    OrderFactory(organization=organization)
    OrderFactory(organization=other_organization)
    client.force_login(staff_user)

    response = client.get(f"/admin/orders/order/?organization__id__exact={organization.pk}")

    changelist = response.context["cl"]
    assert {order.organization_id for order in changelist.result_list} == {organization.pk}
    spec = next(spec for spec in changelist.filter_specs if spec.title == "organization")
    assert [str(choice["display"]) for choice in spec.choices(changelist)] == ["All", "Acme"]
