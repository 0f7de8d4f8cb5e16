"""The transactional outbox: events commit with the change, or not at all."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """A handler for `test.thing` that records the payloads it saw."""
    seen: list[dict] = []

    def handler(event: OutboxEvent) -> None:
        seen.append(event.payload)

    events.event_handler("test.thing")(handler)
    yield seen
    events.unregister_handler("test.thing", handler)


@pytest.fixture
def failing():
    def handler(event: OutboxEvent) -> None:
        OutboxEvent.objects.create(event_type="test.side-effect")  # must roll back with the failure
        raise RuntimeError("receiver down")

    events.event_handler("test.fails")(handler)
    yield handler
    events.unregister_handler("test.fails", handler)


def test_event_published_in_committed_transaction_is_dispatched_after_commit(
    received, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        event = events.publish_event(event_type="test.thing", payload={"n": 1})
        assert received == []  # nothing leaves before the commit
    # then
    assert len(callbacks) == 1
    assert received == [{"n": 1}]
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DISPATCHED
    assert event.dispatched_at is not None


def test_event_in_rolled_back_transaction_leaves_no_trace(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        events.publish_event(event_type="test.thing", payload={"n": 2})
        transaction.set_rollback(True)
    assert callbacks == []
    assert received == []
    assert not OutboxEvent.objects.filter(event_type="test.thing").exists()


def test_dispatch_runs_an_event_once(received):
    event = events.publish_event(event_type="test.thing", payload={"n": 3})
    OutboxEvent.objects.filter(id=event.id).update(status=OutboxEvent.Status.PENDING)
    assert events.outbox_dispatch(event_id=event.id) is True
    assert events.outbox_dispatch(event_id=event.id) is False
    assert received == [{"n": 3}]


def test_sweep_dispatches_stragglers_whose_relay_was_lost(received):
    # given: an event whose on-commit relay never ran (broker down, worker crash)
    event = OutboxEvent.objects.create(
        event_type="test.thing", payload={"n": 4}, created_at=timezone.now() - timedelta(minutes=5)
    )
    fresh = OutboxEvent.objects.create(event_type="test.thing", payload={"n": 5})
    # when
    dispatched = events.outbox_sweep()
    # then: the straggler went out; the fresh one is left to its own relay
    assert dispatched == 1
    assert received == [{"n": 4}]
    event.refresh_from_db()
    fresh.refresh_from_db()
    assert event.status == OutboxEvent.Status.DISPATCHED
    assert fresh.status == OutboxEvent.Status.PENDING


def test_failing_handler_is_retried_later_and_its_writes_roll_back(failing):
    event = OutboxEvent.objects.create(event_type="test.fails", payload={})
    assert events.outbox_dispatch(event_id=event.id) is False
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING
    assert event.attempts == 1
    assert "receiver down" in event.last_error
    assert event.next_attempt_at > timezone.now()
    assert not OutboxEvent.objects.filter(event_type="test.side-effect").exists()
    # not due yet: the sweep leaves it alone
    OutboxEvent.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(hours=1))
    assert events.outbox_sweep() == 0
    event.refresh_from_db()
    assert event.attempts == 1


def test_event_failing_every_attempt_becomes_a_dead_letter_and_can_be_replayed(
    failing, received, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    event = OutboxEvent.objects.create(event_type="test.fails", payload={})
    for _ in range(3):
        OutboxEvent.objects.filter(id=event.id).update(next_attempt_at=timezone.now())
        events.outbox_dispatch(event_id=event.id)
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.FAILED
    assert event.attempts == 3
    # the receiver is fixed; staff replay the dead letter
    events.unregister_handler("test.fails", failing)
    with django_capture_on_commit_callbacks(execute=True):
        assert events.outbox_replay(event_ids=[event.id]) == 1
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DISPATCHED


def test_retry_delay_grows_and_is_capped():
    assert events.retry_delay(1).total_seconds() <= 10
    assert events.retry_delay(10).total_seconds() >= 1800
    assert events.retry_delay(50).total_seconds() <= 3600


def test_admin_replays_dead_letters(admin_client, django_capture_on_commit_callbacks):
    event = OutboxEvent.objects.create(event_type="test.nobody-listens", status=OutboxEvent.Status.FAILED, attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/core/outboxevent/", {"action": "replay", "_selected_action": [str(event.id)]}, follow=True
        )
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DISPATCHED


def test_admin_changelist_runs_constant_queries(admin_client, django_assert_num_queries):
    OutboxEvent.objects.bulk_create(OutboxEvent(event_type=f"test.{n}") for n in range(30))
    with django_assert_num_queries(6):
        response = admin_client.get("/admin/core/outboxevent/")
    assert response.status_code == 200


def test_commits_ride_on_a_queued_relay_which_drains_them_all(received, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    # given: a relay is queued and has not started
    cache.add(events.RELAY_QUEUED_KEY, 1, timeout=events.RELAY_QUEUED_TTL)
    # when: two commits happen meanwhile
    for n in (1, 2):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            events.publish_event(event_type="test.thing", payload={"n": n})
    # then: neither queued another relay (nothing ran yet) ...
    assert received == []
    # ... and the queued relay, when it runs, takes both and clears the flag
    assert events.outbox_drain() == 2
    assert sorted(p["n"] for p in received) == [1, 2]
    assert cache.get(events.RELAY_QUEUED_KEY) is None
    # the next commit queues (and, eagerly here, runs) a relay of its own
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish_event(event_type="test.thing", payload={"n": 3})
    assert [p["n"] for p in received][-1] == 3


@pytest.mark.django_db(transaction=True)
def test_an_event_another_dispatcher_holds_is_skipped_then_marked_dispatched_once(received):
    """The locked read skips a row another session holds (a relay and a sweep never run one event together);
    the dispatched mark writes status, time, attempts and updated_at, as save() did."""
    import psycopg
    from django.db import connection

    event = events.publish_event(event_type="test.thing", payload={"n": 5})
    OutboxEvent.objects.filter(id=event.id).update(status=OutboxEvent.Status.PENDING, attempts=2)
    received.clear()
    before = OutboxEvent.objects.get(id=event.id).updated_at
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("SELECT 1 FROM core_outboxevent WHERE id = %s FOR UPDATE", [event.id])
        assert events.outbox_dispatch(event_id=event.id) is False  # held elsewhere: skipped, not waited for
        other.rollback()
    assert received == []
    assert events.outbox_dispatch(event_id=event.id) is True
    assert received == [{"n": 5}]
    row = OutboxEvent.objects.get(id=event.id)
    assert (row.status, row.attempts) == (OutboxEvent.Status.DISPATCHED, 3)
    assert row.dispatched_at is not None
    assert row.updated_at > before
    assert row.dispatched_at == row.updated_at


def test_the_locked_read_is_routed_as_a_write(monkeypatch):
    from django.db import router

    from apps.core.db import CompiledSelect

    event = OutboxEvent.objects.create(event_type="test.thing")
    lookup = CompiledSelect(
        lambda event_id: OutboxEvent.objects.select_for_update(skip_locked=True).filter(id=event_id), "event_id"
    )
    routed = []
    monkeypatch.setattr(router, "db_for_write", lambda model, **hints: routed.append(("write", model)) or "default")
    monkeypatch.setattr(router, "db_for_read", lambda model, **hints: routed.append(("read", model)) or "default")
    with transaction.atomic():
        assert lookup(event_id=event.id) == event
    assert routed == [("write", OutboxEvent)]
