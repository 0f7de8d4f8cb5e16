"""A product's writers take turns on its row, without holding up orders for it.

An image upload keeps the product's row locked while the file goes to storage (S3 can take
seconds), as every product writer does for its transaction. Orders only need the row to stay
(their items' foreign key takes a key-share lock), so the writers' lock is ``FOR NO KEY UPDATE``:
it excludes other writers, not buyers.
"""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from apps.catalog._common import locked_product
from apps.catalog.tests.factories import ProductFactory
from apps.orders import services
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)  # the holder commits in a thread of its own


@pytest.fixture
def held(organization):
    """A product whose row another connection holds locked, as an upload does while its file is stored."""
    product = ProductFactory(organization=organization, inventory_quantity=5)
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                locked_product(product.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10), "the holder did not take the lock"
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")  # a wait on the holder fails the test instead of hanging it
        yield product
    finally:
        release.set()
        thread.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def test_an_order_for_the_product_is_placed_while_a_writer_holds_it(held, organization, user):
    order = services.order_place(
        user=user,
        organization=organization,
        items=[{"product": held.pk, "quantity": 1}],
        shipping_address=ADDRESS,
    )
    assert order.items.get().product_id == held.pk


def test_another_writer_of_the_product_waits_for_it(held):
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
        locked_product(held.pk)
