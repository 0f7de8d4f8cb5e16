"""Real parallel transactions against PostgreSQL: no oversell, stock back once, one order per key."""

import threading
from collections import Counter

import pytest
from django.db import connection

from apps.accounts.tests.factories import UserFactory
from apps.catalog.models import Product, ProductVariant
from apps.catalog.tests.factories import ProductFactory, VariantFactory
from apps.orders import services
from apps.orders.errors import InvalidTransition
from apps.orders.models import Order
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/orders/"


def run_together(functions, timeout=60):
    """Start every function in its own thread (own connection) at once; return their results in order."""
    start = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        try:
            start.wait()
            results[index] = function()
        except Exception as exc:  # reported to the test, never swallowed
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a buyer hung"
    return results


def test_fifty_buyers_for_twenty_items_get_exactly_twenty_orders(organization, api_client_for):
    # given: one hot product with 20 in stock and 50 buyers, each with their own client
    product = ProductFactory(organization=organization, inventory_quantity=20)
    payload = {
        "organization": str(organization.pk),
        "items": [{"product": str(product.pk), "quantity": 1}],
        "shipping_address": ADDRESS,
    }
    clients = [api_client_for(UserFactory()) for _ in range(50)]
    # when: they all buy at the same moment
    responses = run_together([lambda c=c: c.post(URL, payload, format="json") for c in clients])
    # then
    assert not [r for r in responses if isinstance(r, Exception)]
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 20, 409: 30}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"INSUFFICIENT_STOCK"}
    assert Product.objects.get(pk=product.pk).inventory_quantity == 0
    assert Order.objects.count() == 20
    numbers = sorted(Order.objects.values_list("order_number", flat=True))
    assert numbers == list(range(1001, 1021))  # unique and gapless under contention


def test_concurrent_cancels_return_stock_once(organization, user):
    # given
    product = ProductFactory(organization=organization, inventory_quantity=10)
    order = services.order_place(
        user=user,
        organization=organization,
        items=[{"product": product.pk, "quantity": 4}],
        shipping_address=ADDRESS,
    )
    # when: five cancels (and refunds) race for it
    results = run_together(
        [lambda: services.order_cancel(order=order) for _ in range(3)]
        + [lambda: services.order_refund(order=order) for _ in range(2)]
    )
    # then: one cancel won, everyone else was told the transition is no longer allowed
    assert sum(isinstance(r, Order) for r in results) == 1
    assert all(isinstance(r, Order | InvalidTransition) for r in results)
    assert Product.objects.get(pk=product.pk).inventory_quantity == 10


def test_concurrent_requests_with_one_idempotency_key_place_one_order(organization, user, api_client_for):
    product = ProductFactory(organization=organization, inventory_quantity=10)
    payload = {
        "organization": str(organization.pk),
        "items": [{"product": str(product.pk), "quantity": 1}],
        "shipping_address": ADDRESS,
    }
    clients = [api_client_for(user) for _ in range(5)]

    responses = run_together(
        [lambda c=c: c.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="double-click") for c in clients]
    )

    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r["Idempotent-Replayed"] for r in responses) == ["false"] + ["true"] * 4
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).inventory_quantity == 9


def test_buyers_of_two_sizes_never_oversell_either(organization, api_client_for):
    # given: one product in two sizes (3 M, 2 L) and 12 buyers, half after each size, some after both
    product = ProductFactory(organization=organization, inventory_quantity=3)
    medium = ProductVariant.objects.get(product=product)
    large = VariantFactory(product=product, option_values={"size": "L"}, inventory_quantity=2)

    def payload(*variants):
        return {
            "organization": str(organization.pk),
            "items": [{"variant": str(v.pk), "quantity": 1} for v in variants],
            "shipping_address": ADDRESS,
        }

    bodies = [payload(medium)] * 4 + [payload(large)] * 4 + [payload(large, medium)] * 4
    clients = [api_client_for(UserFactory()) for _ in bodies]
    # when
    responses = run_together(
        [lambda c=c, b=b: c.post(URL, b, format="json") for c, b in zip(clients, bodies, strict=True)]
    )
    # then: stock never below zero, and every sold unit is an order line of that variant
    assert not [r for r in responses if isinstance(r, Exception)]
    assert {r.status_code for r in responses} <= {201, 409}
    medium.refresh_from_db()
    large.refresh_from_db()
    assert medium.inventory_quantity >= 0
    assert large.inventory_quantity >= 0
    sold = Counter()
    for order in Order.objects.prefetch_related("items"):
        for item in order.items.all():
            sold[item.variant_id] += item.quantity
    assert sold[medium.pk] == 3 - medium.inventory_quantity
    assert sold[large.pk] == 2 - large.inventory_quantity
    assert large.inventory_quantity == 0  # 8 buyers wanted L: both sold
