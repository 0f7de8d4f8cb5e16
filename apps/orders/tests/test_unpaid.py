"""Orders left unpaid: the beat sweep cancels them after ORDER_PAYMENT_TIMEOUT and returns their stock once."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from apps.audit.models import AuditLog
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.core.models import OutboxEvent
from apps.orders import services
from apps.orders.models import Order
from apps.orders.tasks import orders_payment_timeout_sweep
from apps.orders.tests.factories import ADDRESS
from olympus.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization, price_cents=1000, inventory_quantity=10)


def place(user, organization, product, quantity=2, minutes_ago=45):
    order = services.order_place(
        user=user,
        organization=organization,
        items=[{"product": product.pk, "quantity": quantity}],
        shipping_address=ADDRESS,
    )
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return order


def stock(product):
    return Product.objects.get(pk=product.pk).inventory_quantity


def test_the_timeout_defaults_to_thirty_minutes_and_the_sweep_is_on_the_beat_schedule():
    assert timedelta(minutes=30) == django_settings.ORDER_PAYMENT_TIMEOUT
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "apps.orders.tasks.orders_payment_timeout_sweep" in tasks
    # on the orders queue, with the other order work
    assert app.amqp.router.route({}, orders_payment_timeout_sweep.name)["queue"].name == "orders"


def test_an_order_unpaid_past_the_timeout_is_cancelled_with_its_stock_back_and_the_customer_emailed(
    organization, product, user, mailoutbox, django_capture_on_commit_callbacks
):
    # given: an order placed 45 minutes ago, never paid (8 left in stock)
    order = place(user, organization, product)
    assert stock(product) == 8

    # when: beat's task runs, twice
    with django_capture_on_commit_callbacks(execute=True):
        first = orders_payment_timeout_sweep.delay().get()
    with django_capture_on_commit_callbacks(execute=True):
        second = orders_payment_timeout_sweep.delay().get()

    # then
    assert (first, second) == (1, 0)
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == ("cancelled", "payment_timeout")
    assert order.stock_returned_at is not None
    assert stock(product) == 10
    assert AuditLog.objects.filter(action="order.cancelled", resource_id=str(order.pk), actor=None).count() == 1
    assert OutboxEvent.objects.filter(event_type="order.cancelled").count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    assert "was cancelled" in mailoutbox[0].subject
    assert "not paid in time" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("minutes_ago", "payment_status"),
    [(20, "pending"), (45, "authorized"), (45, "captured")],
    ids=["not-yet-due", "authorized", "captured"],
)
def test_orders_still_in_time_or_with_money_on_the_way_are_left_alone(
    organization, product, user, minutes_ago, payment_status
):
    order = place(user, organization, product, minutes_ago=minutes_ago)
    Order.objects.filter(pk=order.pk).update(payment_status=payment_status)

    assert services.orders_payment_timeout_sweep() == 0

    order.refresh_from_db()
    assert order.status == "pending"
    assert stock(product) == 8


def test_a_failed_payment_does_not_stop_the_clock(organization, product, user):
    order = place(user, organization, product)
    Order.objects.filter(pk=order.pk).update(payment_status="failed")

    assert services.orders_payment_timeout_sweep() == 1

    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == ("cancelled", "payment_timeout")


def test_confirmed_and_free_orders_are_not_swept(organization, user):
    # given: a confirmed order and a free one, both old
    confirmed = place(user, organization, ProductFactory(organization=organization, inventory_quantity=5))
    services.order_confirm(order=confirmed)
    free = place(user, organization, ProductFactory(organization=organization, price_cents=0, inventory_quantity=5))
    assert free.total_cents == 0

    assert services.orders_payment_timeout_sweep() == 0

    assert set(Order.objects.values_list("status", flat=True)) == {"confirmed", "pending"}


def test_a_zero_timeout_turns_the_sweep_off(organization, product, user, settings):
    settings.ORDER_PAYMENT_TIMEOUT = timedelta(0)
    place(user, organization, product, minutes_ago=600)

    assert services.orders_payment_timeout_sweep() == 0
    assert Order.objects.get().status == "pending"


def test_the_sweep_follows_the_configured_timeout(organization, product, user, settings):
    settings.ORDER_PAYMENT_TIMEOUT = timedelta(minutes=10)
    place(user, organization, product, minutes_ago=15)

    assert services.orders_payment_timeout_sweep() == 1


def test_cancelling_for_want_of_payment_takes_only_the_platform_reasons(organization, product, user):
    order = place(user, organization, product)

    with pytest.raises(ValueError, match="unknown"):
        services.order_cancel_unpaid(order=order, reason="because")
    assert services.order_cancel_unpaid(order=order, reason=services.PAYMENT_FAILED) is True
    assert services.order_cancel_unpaid(order=order, reason=services.PAYMENT_FAILED) is False
    assert stock(product) == 10
