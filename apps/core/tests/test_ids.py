"""Primary keys are version 7 UUIDs: new keys follow one another, so index entries land on the newest pages."""

import time
import uuid

import pytest
from django.apps import apps
from django.db import connection, models

from apps.audit.models import AuditLog
from apps.core.ids import new_id
from apps.core.models import OutboxEvent


def test_a_new_id_is_a_plain_version_7_uuid_of_this_millisecond():
    before = int(time.time() * 1000)
    value = new_id()
    after = int(time.time() * 1000)
    assert type(value) is uuid.UUID
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after + 1


def test_ids_made_one_after_another_increase():
    values = [new_id() for _ in range(2000)]  # far more than one a millisecond
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_every_uuid_primary_key_of_ours_defaults_to_a_time_ordered_id():
    ours = [m for m in apps.get_models() if m.__module__.startswith("apps.")]
    uuid_keyed = [m for m in ours if isinstance(m._meta.pk, models.UUIDField)]
    assert uuid_keyed, "no UUID-keyed model found"
    assert {m.__name__: m._meta.pk.default for m in uuid_keyed} == {m.__name__: new_id for m in uuid_keyed}


@pytest.mark.django_db
def test_postgresql_orders_new_rows_keys_as_they_were_made(organization):
    # given: events and audit rows written one after another through the ORM
    events = [OutboxEvent.objects.create(event_type="test.ids", organization_id=organization.pk) for _ in range(50)]
    entries = [AuditLog.objects.create(action="test.ids", resource_type="test", resource_id=str(e.pk)) for e in events]
    # then: PostgreSQL's order of the keys (the order of their index entries) is the order they were made in,
    # and so is the text order of keys kept as text (the audit log's resource_id index)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM core_outboxevent WHERE event_type = 'test.ids' ORDER BY id",
        )
        assert [row[0] for row in cursor.fetchall()] == [e.pk for e in events]
        cursor.execute(
            "SELECT resource_id FROM audit_auditlog WHERE action = 'test.ids' ORDER BY resource_id",
        )
        assert [row[0] for row in cursor.fetchall()] == [str(e.pk) for e in events]
    assert [e.pk for e in entries] == sorted(e.pk for e in entries)
