"""The monthly order counter: kept by placement in the order's transaction, O(1) to check, reconciled by beat."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.tests.factories import UserFactory
from apps.billing.services import organization_limits, usage_period_start
from apps.catalog.tests.factories import ProductFactory
from apps.core.exceptions import PlanLimitReached
from apps.orders import services, tasks
from apps.orders.models import Order, OrderNumberSequence
from apps.orders.tests.factories import ADDRESS, OrderFactory
from apps.orders.tests.test_concurrency import run_together


def _place(organization, product, user=None):
    return services.order_place(
        user=user or UserFactory(),
        organization=organization,
        items=[{"product": product.pk, "quantity": 1}],
        shipping_address=ADDRESS,
    )


def _limit_orders(organization, maximum):
    organization.limits = {**organization_limits(organization=organization), "orders_per_month": maximum}
    organization.save(update_fields=["limits", "updated_at"])


def _counter(organization):
    return OrderNumberSequence.objects.get(organization=organization)


@pytest.mark.django_db
def test_each_placement_counts_the_order_in_the_month_on_the_counter_row(plans, organization):
    # given
    product = ProductFactory(organization=organization, inventory_quantity=10)
    # when
    for _ in range(3):
        _place(organization, product)
    # then
    counter = _counter(organization)
    assert (counter.usage_period_start, counter.usage_orders) == (usage_period_start(organization=organization), 3)
    assert counter.last_number == 1003


@pytest.mark.django_db
def test_the_limit_check_reads_the_counter_and_never_counts_the_orders(plans, organization):
    # given: a limited organization with orders this month
    _limit_orders(organization, 100)
    product = ProductFactory(organization=organization, inventory_quantity=10)
    _place(organization, product)
    user = UserFactory()
    # when
    with CaptureQueriesContext(connection) as queries:
        _place(organization, product, user)
    # then: no statement counts orders (the check is the counter's own RETURNING)
    order_table = Order._meta.db_table
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and order_table in q["sql"]]
    assert _counter(organization).usage_orders == 2


@pytest.mark.django_db
def test_a_refused_order_gives_back_its_count_and_number(plans, organization):
    # given: one order a month allowed, one placed
    _limit_orders(organization, 1)
    product = ProductFactory(organization=organization, inventory_quantity=10)
    _place(organization, product)
    # when
    with pytest.raises(PlanLimitReached) as exc:
        _place(organization, product)
    # then
    assert (exc.value.details["current"], exc.value.details["maximum"]) == (1, 1)
    counter = _counter(organization)
    assert (counter.usage_orders, counter.last_number) == (1, 1001)


@pytest.mark.django_db
def test_a_new_month_restarts_the_count(plans, organization):
    # given: a counter left at the limit last month
    _limit_orders(organization, 2)
    product = ProductFactory(organization=organization, inventory_quantity=10)
    _place(organization, product)
    start = usage_period_start(organization=organization)
    OrderNumberSequence.objects.filter(organization=organization).update(
        usage_period_start=start - timedelta(days=30), usage_orders=2
    )
    # when
    _place(organization, product)
    # then
    counter = _counter(organization)
    assert (counter.usage_period_start, counter.usage_orders) == (start, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_near_the_limit_never_exceed_it(plans, organization):
    # given: 5 orders a month allowed, 3 placed, and 8 buyers at once
    _limit_orders(organization, 5)
    product = ProductFactory(organization=organization, inventory_quantity=100)
    for _ in range(3):
        _place(organization, product)
    buyers = [UserFactory() for _ in range(8)]
    # when
    results = run_together([lambda u=u: _place(organization, product, u) for u in buyers])
    # then: exactly the two free slots were taken
    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"Order": 2, "PlanLimitReached": 6}
    assert Order.objects.filter(organization=organization).count() == 5
    assert _counter(organization).usage_orders == 5
    product.refresh_from_db()
    assert product.inventory_quantity == 95


@pytest.mark.django_db
def test_reconciliation_counts_orders_made_outside_the_service(plans, organization):
    # given: one placed order, and two written straight to the table (not counted)
    _limit_orders(organization, 3)
    product = ProductFactory(organization=organization, inventory_quantity=10)
    _place(organization, product)
    OrderFactory.create_batch(2, organization=organization, order_number=factory_numbers())
    other = ProductFactory().organization
    _place(other, ProductFactory(organization=other, inventory_quantity=1))
    assert _counter(organization).usage_orders == 1
    # when
    fixed = tasks.order_usage_reconcile()
    # then: only the drifted counter was written, and the limit now sees all three orders
    assert fixed == 1
    assert _counter(organization).usage_orders == 3
    assert _counter(other).usage_orders == 1
    with pytest.raises(PlanLimitReached):
        _place(organization, product)
    assert services.order_usage_reconcile() == 0


@pytest.mark.django_db
def test_reconciliation_moves_a_stale_month_to_the_current_one(plans, organization):
    # given: a counter still on last month, with no order this month
    product = ProductFactory(organization=organization, inventory_quantity=10)
    _place(organization, product)
    start = usage_period_start(organization=organization)
    Order.objects.filter(organization=organization).update(created_at=start - timedelta(days=2))
    OrderNumberSequence.objects.filter(organization=organization).update(
        usage_period_start=start - timedelta(days=31), usage_orders=7
    )
    # when
    assert services.order_usage_reconcile() == 1
    # then
    counter = _counter(organization)
    assert (counter.usage_period_start, counter.usage_orders) == (start, 0)


@pytest.mark.django_db
def test_reconciliation_leaves_a_counter_already_in_the_next_month(plans, organization):
    # given: placement already counts in April while the reconciling clock is in March
    product = ProductFactory(organization=organization, inventory_quantity=10)
    _place(organization, product)
    april = datetime(2031, 4, 1, tzinfo=UTC)
    OrderNumberSequence.objects.filter(organization=organization).update(usage_period_start=april, usage_orders=1)
    # when / then
    assert services.order_usage_reconcile(now=datetime(2031, 3, 31, 23, 59, tzinfo=UTC)) == 0
    assert _counter(organization).usage_period_start == april


def factory_numbers():
    """Order numbers far from the service's, so the factory's rows never collide with placed ones."""
    import factory

    return factory.Sequence(lambda n: 900_000 + n)
