"""core.db: INSERTs compiled ahead with values PostgreSQL fills in later, and psycopg pipeline mode."""

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Subquery, Value

from apps.core.db import CompiledInsert, jsonb_with, pipeline
from apps.core.models import OutboxEvent


def attempts_of(event: OutboxEvent) -> Subquery:
    return Subquery(OutboxEvent.objects.filter(pk=event.pk).values("attempts"))


@pytest.mark.django_db
def test_a_compiled_insert_takes_expression_values_as_they_are_when_it_runs():
    # given: an insert compiled while the row it reads still says 1
    counter = OutboxEvent.objects.create(event_type="test.counter", attempts=1)
    later = OutboxEvent(
        event_type="test.later",
        attempts=attempts_of(counter),
        payload=jsonb_with({"kept": "yes", "when": uuid.UUID(int=1)}, seen=attempts_of(counter), fixed=Value(5)),
    )
    insert = CompiledInsert(later)
    OutboxEvent.objects.filter(pk=counter.pk).update(attempts=7)
    # when
    insert.execute()
    # then: the values read when the statement ran, and the instance counts as saved
    stored = OutboxEvent.objects.get(pk=later.pk)
    assert stored.attempts == 7
    assert stored.payload == {"kept": "yes", "when": str(uuid.UUID(int=1)), "seen": 7, "fixed": 5}
    assert later._state.adding is False


@pytest.mark.django_db
def test_a_compiled_insert_takes_instances_of_one_model_with_their_keys():
    from apps.audit.models import AuditLog

    with pytest.raises(TypeError):
        CompiledInsert(OutboxEvent(event_type="a"), AuditLog(action="a", resource_type="b"))
    with pytest.raises(TypeError):
        CompiledInsert(OutboxEvent(id=None, event_type="a"))


@pytest.mark.django_db(transaction=True)
def test_pipelined_writes_commit_together_or_not_at_all():
    # given: two writes nobody reads, the second one failing (the same primary key)
    first = OutboxEvent(event_type="test.pipelined")
    duplicate = OutboxEvent(pk=first.pk, event_type="test.pipelined")
    sent = []

    def place_both() -> None:
        with transaction.atomic(), pipeline():
            CompiledInsert(first).execute()
            CompiledInsert(duplicate).execute()
            sent.append(True)

    # when: the error surfaces when the pipeline ends, not when the statement is sent
    with pytest.raises(IntegrityError):
        place_both()
    # then: nothing was written, and the connection is usable
    assert sent
    assert not OutboxEvent.objects.filter(event_type="test.pipelined").exists()
    with transaction.atomic(), pipeline():
        CompiledInsert(OutboxEvent(event_type="test.pipelined")).execute()
        assert OutboxEvent.objects.filter(event_type="test.pipelined").count() == 1  # a read waits for its result
    assert OutboxEvent.objects.filter(event_type="test.pipelined").count() == 1
