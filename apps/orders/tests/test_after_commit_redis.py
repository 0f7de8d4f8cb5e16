"""A placement's after-commit Redis writes (the outbox relay flag, the catalog version bump) leave in one
round trip once it commits; never when it does not; at once and alone when a caller's transaction commits
them; and each still handles its own failure as before (tests commit: ``transaction=True``)."""

import copy
import logging
from unittest import mock

import pytest
import redis
from django.db import transaction

from apps.catalog import cache as catalog_cache
from apps.catalog.errors import InsufficientStock
from apps.catalog.tests.factories import ProductFactory
from apps.core import events, redis_writes
from apps.core.models import OutboxEvent
from apps.orders import services
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


def place(user, organization, product, quantity=1):
    return services.order_place(
        user=user,
        organization=organization,
        items=[{"product": product.pk, "quantity": quantity}],
        shipping_address=ADDRESS,
    )


def version(organization) -> int:
    return catalog_cache.versions([str(organization.pk)])[str(organization.pk)]


@pytest.fixture
def sends():
    """The round trips ``apps.core.redis_writes`` makes (the real ones), with the writes each carried."""
    with mock.patch.object(redis_writes, "_send", wraps=redis_writes._send) as spy:
        yield lambda: [[type(write).__name__ for write in call.args[0]] for call in spy.call_args_list]


def test_a_placement_sends_its_redis_writes_in_one_round_trip_after_commit(organization, user, sends):
    product = ProductFactory(organization=organization, inventory_quantity=5)
    before = version(organization)

    order = place(user, organization, product)

    assert sends() == [["_RelayFlag", "_AfterCommitBump"]]
    assert version(organization) == before + 1
    # The flag was set and the relay published (eager in tests: it ran and dispatched the event).
    event = OutboxEvent.objects.get(event_type="order.created", payload__order_id=str(order.pk))
    assert event.status == OutboxEvent.Status.DISPATCHED


def test_a_refused_placement_sends_nothing(organization, user, sends):
    product = ProductFactory(organization=organization, inventory_quantity=1)
    before = version(organization)

    with pytest.raises(InsufficientStock):
        place(user, organization, product, quantity=2)

    assert sends() == []
    assert version(organization) == before


def test_in_a_callers_transaction_the_writes_go_at_its_commit_one_by_one(organization, user, sends):
    product = ProductFactory(organization=organization, inventory_quantity=5)
    before = version(organization)

    with transaction.atomic():
        order = place(user, organization, product)
        assert sends() == []  # not committed yet

    assert sends() == [["_RelayFlag"], ["_AfterCommitBump"]]
    assert version(organization) == before + 1
    assert OutboxEvent.objects.get(payload__order_id=str(order.pk)).status == OutboxEvent.Status.DISPATCHED


def test_a_write_whose_command_fails_does_not_stop_the_others(organization, user):
    # The version key holds something INCR refuses: the bump's command fails, not the round trip.
    redis_writes._redis().set(catalog_cache.cache.make_and_validate_key(f"catalog:version:{organization.pk}"), "x")
    event = OutboxEvent.objects.create(event_type="test.thing", organization_id=organization.pk)

    def both_in_one_round_trip():
        with redis_writes.batched():
            catalog_cache.bump_after_commit(organization.pk)
            events._enqueue_relay(event.id)

    with pytest.raises(redis.ResponseError):
        both_in_one_round_trip()

    # The relay still set its flag and published (eagerly run here: it dispatched the event).
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DISPATCHED


def test_with_redis_down_the_placement_commits_and_each_write_logs_its_failure(organization, user, settings, caplog):
    product = ProductFactory(organization=organization, inventory_quantity=5)
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"  # nothing listens there: refused at once
    settings.CACHES = caches

    with caplog.at_level(logging.WARNING):
        order = place(user, organization, product)

    messages = [record.getMessage() for record in caplog.records]
    assert any("could not enqueue outbox relay" in message for message in messages), messages
    assert any("catalog cache bump" in message and "failed" in message for message in messages), messages
    # The order and its event are committed; the sweep relays the event later.
    assert OutboxEvent.objects.get(payload__order_id=str(order.pk)).status == OutboxEvent.Status.PENDING
