"""The order model's state machine: its protected status and refreshing it from several threads."""

import threading

import pytest
from django.db import connection

from apps.orders.models import Order
from apps.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_status_cannot_be_assigned_directly():
    order = OrderFactory()

    with pytest.raises(AttributeError, match="Direct status modification is not allowed"):
        order.status = Order.Status.CONFIRMED


def test_a_refresh_that_ends_first_does_not_break_one_still_running_in_another_thread():
    # given: one thread's refresh is held inside its query (django-fsm-2's own mixin lifted the
    # protection on the shared field there, and the other thread's refresh put it back meanwhile)
    order = OrderFactory()
    inside, release, errors = threading.Event(), threading.Event(), []
    held = Order.objects.filter(pk=order.pk)
    gated_class = type(held)

    class Gated(gated_class):  # the queryset the slow refresh reads through: it waits inside its fetch
        def _fetch_all(self):
            inside.set()
            release.wait(10)
            super()._fetch_all()

    held.__class__ = Gated
    slow = Order.objects.get(pk=order.pk)

    def refresh_slowly():
        try:
            slow.refresh_from_db(from_queryset=held)
        except Exception as exc:  # reported by the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    thread = threading.Thread(target=refresh_slowly)
    thread.start()
    assert inside.wait(10)

    # when: other refreshes run and end while the first waits; one that began before it (and so
    # saw the field protected) ends by putting the field's shared protection back on
    quick = Order.objects.get(pk=order.pk)
    quick.refresh_from_db(fields=["status"])
    quick.refresh_from_db()
    Order._meta.get_field("status").protected = True
    release.set()
    thread.join(10)

    # then: both refreshes worked, and the status is still protected on each instance
    assert errors == []
    assert slow.status == quick.status == Order.Status.PENDING
    with pytest.raises(AttributeError):
        slow.status = Order.Status.CANCELLED


def test_a_full_refresh_reloads_the_status_and_the_other_fields():
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CONFIRMED, internal_notes="called the customer")

    order.refresh_from_db()

    assert (order.status, order.internal_notes) == (Order.Status.CONFIRMED, "called the customer")
