"""Monthly partitions: rows land in their month, maintenance creates, moves, drops, and is idempotent."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection

from apps.audit import services
from apps.audit.models import DEFAULT_PARTITION, AuditLog

pytestmark = pytest.mark.django_db

# A fixed "now" far from the real clock, so partitions the migration made do not interfere.
NOW = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)


def partition_of(entry: AuditLog) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit_auditlog WHERE id = %s", [entry.pk])
        return cursor.fetchone()[0]


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 8, 30, tzinfo=UTC)


def log(created_at: datetime) -> AuditLog:
    return services.record(action="test.done", resource_type="test", created_at=created_at, actor=None)


def test_maintenance_creates_the_current_and_next_three_months():
    report = services.audit_partitions_maintain(now=NOW, ahead=3, retention_months=13)

    expected = [services.partition_name(date(2031, month, 1)) for month in (6, 7, 8, 9)]
    assert report.created == expected
    assert set(expected) <= set(services.partition_months().values())


def test_rows_land_in_their_month_partition():
    services.audit_partitions_maintain(now=NOW)

    assert partition_of(log(at(2031, 6))) == "audit_auditlog_p2031_06"
    assert partition_of(log(at(2031, 7, 1).replace(hour=0, minute=0))) == "audit_auditlog_p2031_07"
    assert partition_of(log(datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC))) == "audit_auditlog_p2031_06"


def test_an_insert_without_a_partition_lands_in_default_and_never_fails():
    entry = log(at(2040, 1))

    assert partition_of(entry) == DEFAULT_PARTITION


def test_maintenance_moves_default_rows_into_a_new_month_partition():
    # given a row that arrived before its month's partition existed
    stray = log(at(2031, 3))
    assert partition_of(stray) == DEFAULT_PARTITION

    # when
    report = services.audit_partitions_maintain(now=NOW)

    # then
    assert "audit_auditlog_p2031_03" in report.created
    assert report.moved_rows == 1
    assert partition_of(stray) == "audit_auditlog_p2031_03"
    assert AuditLog.objects.filter(pk=stray.pk).count() == 1


def test_a_missing_month_is_created():
    services.audit_partitions_maintain(now=NOW)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditlog DETACH PARTITION audit_auditlog_p2031_08")
        cursor.execute("DROP TABLE audit_auditlog_p2031_08")

    report = services.audit_partitions_maintain(now=NOW)

    assert report.created == ["audit_auditlog_p2031_08"]


def test_partitions_past_retention_are_dropped():
    # given partitions 14 and 13 months back
    services.partition_create(month=date(2030, 4, 1))
    services.partition_create(month=date(2030, 5, 1))
    old = log(at(2030, 4))

    # when (retention 13 months before June 2031 keeps May 2030 onwards)
    report = services.audit_partitions_maintain(now=NOW, retention_months=13)

    # then
    assert "audit_auditlog_p2030_04" in report.dropped
    assert "audit_auditlog_p2030_05" not in report.dropped
    months = services.partition_months()
    assert date(2030, 4, 1) not in months
    assert date(2030, 5, 1) in months
    assert not AuditLog.objects.filter(pk=old.pk).exists()


def test_expired_rows_in_default_are_deleted_not_moved():
    expired = log(at(2029, 1))

    report = services.audit_partitions_maintain(now=NOW, retention_months=13)

    assert report.expired_default_rows == 1
    assert "audit_auditlog_p2029_01" not in report.created
    assert not AuditLog.objects.filter(pk=expired.pk).exists()


def test_running_maintenance_twice_changes_nothing():
    log(at(2031, 2))
    first = services.audit_partitions_maintain(now=NOW)
    partitions = services.partition_months()

    second = services.audit_partitions_maintain(now=NOW)

    assert first.changed
    assert not second.changed
    assert services.partition_months() == partitions


def test_task_and_command_run_maintenance(settings):
    from django.core.management import call_command

    from apps.audit.tasks import audit_partitions_maintain

    result = audit_partitions_maintain.delay().get()
    assert set(result) == {"created", "dropped", "moved_rows", "expired_default_rows"}
    call_command("audit_partitions")  # idempotent: nothing left to do, no error


def test_task_is_routed_to_maintenance_and_scheduled_daily(settings):
    from olympus.celery import app

    route = app.amqp.router.route({}, "apps.audit.tasks.audit_partitions_maintain")
    assert route["queue"].name == "maintenance"
    entry = settings.CELERY_BEAT_SCHEDULE["audit.partition-maintenance"]
    assert entry["task"] == "apps.audit.tasks.audit_partitions_maintain"
    assert entry["schedule"].hour == {3}


def test_model_and_table_agree():
    """The hand-written table must carry every model column with the model's nullability."""
    with connection.cursor() as cursor:
        columns = {
            column.name: column.null_ok
            for column in connection.introspection.get_table_description(cursor, "audit_auditlog")
        }
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'audit_auditlog'::regclass")
        relkind = cursor.fetchone()[0]
    assert relkind == "p"  # partitioned
    assert columns == {field.column: field.null for field in AuditLog._meta.concrete_fields}
