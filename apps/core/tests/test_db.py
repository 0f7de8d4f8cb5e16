"""core.db: INSERTs compiled ahead with values PostgreSQL fills in later, and psycopg pipeline mode."""

import uuid

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery, Value

from apps.core.db import CompiledInsert, jsonb_with, pipeline
from apps.core.models import OutboxEvent
from olympus.service_urls import transaction_pooler_ready


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


# --- CompiledSelect -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_compiled_select_returns_what_the_orm_would_compiling_once(monkeypatch):
    from django.db.models import Exists, OuterRef
    from django.db.models.sql.compiler import SQLCompiler

    from apps.core.db import CompiledSelect
    from apps.organizations.models import Membership
    from apps.organizations.tests.factories import MembershipFactory

    first, second = MembershipFactory(), MembershipFactory()
    lookup = CompiledSelect(
        lambda membership_id, user_id: (
            Membership.objects.select_related("organization", "user")
            .filter(pk=membership_id)
            .annotate(mine=Exists(Membership.objects.filter(pk=OuterRef("pk"), user_id=user_id)))
        ),
        "membership_id",
        "user_id",
    )
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    compiled_on_first_use = 0
    for membership, user_id, mine in ((first, first.user_id, True), (second, first.user_id, False)):
        # when: the same lookup with other values, the second given as text
        found = lookup(membership_id=str(membership.pk), user_id=user_id)
        # then: that row, its related rows and annotation, as the ORM builds them
        assert found == membership
        assert [found.role, found.organization.name, found.user.email, found.mine] == [
            membership.role, membership.organization.name, membership.user.email, mine,
        ]  # fmt: skip
        assert found._state.adding is False
        assert found._state.db == "default"
        compiled_on_first_use = compiled_on_first_use or len(compiled)
    assert lookup(membership_id=uuid.uuid4(), user_id=first.user_id) is None
    assert len(compiled) == compiled_on_first_use > 0  # the query and its subquery, compiled on first use only


def test_a_compiled_select_refuses_an_argument_its_query_does_not_use():
    from apps.core.db import CompiledSelect
    from apps.organizations.models import Organization

    lookup = CompiledSelect(
        lambda organization_id, unused: Organization.objects.filter(pk=organization_id), "organization_id", "unused"
    )
    with pytest.raises(TypeError, match="every argument"):
        lookup(organization_id=uuid.uuid4(), unused=uuid.uuid4())


@pytest.mark.django_db
def test_connections_price_random_page_reads_for_ssds():
    # The tenant search plan depends on it (apps/catalog/tests/test_indexes.py).
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert float(cursor.fetchone()[0]) == settings.DB_RANDOM_PAGE_COST == 1.1


def test_behind_a_transaction_pooler_no_startup_options_are_sent():
    database = {"NAME": "olympus", "OPTIONS": {"options": "-c random_page_cost=1.1", "connect_timeout": 3}}
    ready = transaction_pooler_ready(database)
    assert ready["OPTIONS"] == {"connect_timeout": 3, "prepare_threshold": None}
    assert ready["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert database["OPTIONS"]["options"] == "-c random_page_cost=1.1"  # the given entry is left as it was
