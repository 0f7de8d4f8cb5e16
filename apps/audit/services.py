"""Writing the audit log and keeping its monthly partitions.

:func:`record` is called by every service that changes tenant data, inside
that service's transaction: the audit row commits or rolls back with the
change it describes. Actor, IP, user agent and request id come from the bound
audit context (request or Celery task) unless passed explicitly.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.audit import context
from apps.audit.models import DEFAULT_PARTITION, TABLE, AuditLog
from apps.core.events import publish_event
from apps.core.logging import redact

logger = logging.getLogger("olympus.audit")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
_MISSING = object()


def _id_of(value: Model | uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, Model):
        value = value.pk
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    # Normalise UUIDs, datetimes, Decimals, enums the way the JSON column will store them.
    normalised: dict[str, Any] = json.loads(json.dumps(dict(values), cls=DjangoJSONEncoder))
    return normalised


# Nested objects are diffed key by key down to this depth; deeper ones are kept whole when they differ.
DIFF_MAX_DEPTH = 16


def _diff(old: dict[str, Any], new: dict[str, Any], depth: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Changed keys only; nested objects (JSON settings) are diffed key by key as well (bounded depth)."""
    old_out: dict[str, Any] = {}
    new_out: dict[str, Any] = {}
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key, _MISSING), new.get(key, _MISSING)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict) and depth < DIFF_MAX_DEPTH:
            before, after = _diff(before, after, depth + 1)
        if before is not _MISSING:
            old_out[key] = before
        if after is not _MISSING:
            new_out[key] = after
    return old_out, new_out


def changed_values(
    old_values: Mapping[str, Any] | None, new_values: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Keep only the fields whose values differ when both sides are given; redact secrets."""
    old = _jsonable(old_values) if old_values is not None else None
    new = _jsonable(new_values) if new_values is not None else None
    if old is not None and new is not None:
        old, new = _diff(old, new)
    return (redact(old) if old is not None else None, redact(new) if new is not None else None)


def record(**arguments: Any) -> AuditLog:
    """Append one audit row in the caller's transaction; the arguments are :func:`audit_entry`'s."""
    entry = audit_entry(**arguments)
    # The caller's transaction holds it (no savepoint: the DEFAULT partition takes any month).
    entry.save(force_insert=True)
    return entry


def record_and_publish(
    *,
    event_type: str,
    payload: dict[str, Any],
    organization: Model | uuid.UUID | str | None,
    action: str | None = None,
    **audit: Any,
) -> AuditLog:
    """The one "audit it and announce it" step of a service: an audit row and an outbox event,
    both in the caller's transaction (a rollback leaves neither).

    ``action`` defaults to ``event_type``; ``audit`` are :func:`audit_entry`'s other arguments.
    """
    entry = record(action=action or event_type, organization=organization, **audit)
    organization_id: uuid.UUID | str | None = organization.pk if isinstance(organization, Model) else organization
    publish_event(event_type=event_type, organization_id=organization_id, payload=payload)
    return entry


def audit_entry(
    *,
    action: str,
    resource_type: str,
    resource_id: Any = "",
    organization: Model | uuid.UUID | str | None = None,
    old_values: Mapping[str, Any] | None = None,
    new_values: Mapping[str, Any] | None = None,
    actor: Model | uuid.UUID | str | None = UNSET,
    ip: str | None = UNSET,
    user_agent: str = UNSET,
    request_id: str = UNSET,
    created_at: datetime | None = None,
    event_id: uuid.UUID | str | None = None,
) -> AuditLog:
    """One audit row, unsaved: :func:`record` appends it; a caller may insert it later in its transaction.

    Only changed fields are kept and secret-looking keys are redacted.
    ``action`` is ``<resource>.<verb>`` (``organization.updated``). Unset
    ``actor``/``ip``/``user_agent``/``request_id`` come from the audit context.
    """
    bound = context.current()
    old, new = changed_values(old_values, new_values)
    return AuditLog(
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id or "")[:64],
        organization_id=_id_of(organization),
        actor_id=_id_of(bound.resolved_actor_id() if actor is UNSET else actor),
        ip=bound.ip if ip is UNSET else (ip or None),
        user_agent=(bound.user_agent if user_agent is UNSET else (user_agent or ""))[: context.USER_AGENT_MAX],
        request_id=(bound.resolved_request_id() if request_id is UNSET else (request_id or ""))[:64],
        old_values=old,
        new_values=new,
        event_id=event_id,
        created_at=created_at or timezone.now(),
    )


# --- partitions ------------------------------------------------------------------------


def month_start(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC) if timezone.is_aware(moment) else moment
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + (month.month - 1) + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def _month_of(name: str) -> date | None:
    prefix = f"{TABLE}_p"
    if not name.startswith(prefix):
        return None
    try:
        year, month = name[len(prefix) :].split("_")
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def _bound(month: date) -> str:
    return f"{month.isoformat()} 00:00:00+00"


def partition_months() -> dict[date, str]:
    """The monthly partitions that exist, by month (the DEFAULT partition is not listed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {month: name for name in names if (month := _month_of(name)) is not None}


def partition_create(*, month: date) -> int:
    """Create the partition for ``month``, moving rows that waited for it in the DEFAULT partition.

    Returns how many rows moved. PostgreSQL refuses a new range while the
    DEFAULT partition holds rows inside it, so the table is built detached,
    filled from the default partition and then attached.
    """
    name = partition_name(month)
    start, end = _bound(month), _bound(add_months(month, 1))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE created_at >= %s AND created_at < %s RETURNING *) "  # noqa: S608 - names are ours
            f"INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        moved = int(cursor.rowcount)
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')")
    return max(moved, 0)


def partition_drop(*, month: date) -> None:
    name = partition_name(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    moved_rows: int = 0
    expired_default_rows: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.dropped or self.moved_rows or self.expired_default_rows)

    def __str__(self) -> str:
        return (
            f"created {self.created or 'none'}, dropped {self.dropped or 'none'}, "
            f"moved {self.moved_rows} row(s) out of the default partition, "
            f"deleted {self.expired_default_rows} expired row(s) from it"
        )


def audit_partitions_maintain(
    *, now: datetime | None = None, ahead: int | None = None, retention_months: int | None = None
) -> MaintenanceReport:
    """Keep the current month and ``ahead`` months created, move strays out of DEFAULT, drop old months.

    Partitions whose whole month lies before ``current month - retention``
    are detached and dropped; rows in the DEFAULT partition that old are
    deleted, younger ones move into their month's (new) partition. Safe to
    run twice or concurrently (an advisory lock serialises runs).
    """
    now = now or timezone.now()
    ahead = settings.AUDIT_PARTITIONS_AHEAD if ahead is None else ahead
    retention_months = settings.AUDIT_RETENTION_MONTHS if retention_months is None else retention_months
    current = month_start(now)
    cutoff = add_months(current, -retention_months)
    report = MaintenanceReport()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{TABLE}.maintenance"])
        existing = partition_months()

        # Rows that landed in DEFAULT: delete the expired, give the rest a partition of their own.
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date FROM {DEFAULT_PARTITION}"  # noqa: S608
        )
        stray_months = sorted(row[0] for row in cursor.fetchall())
        for month in stray_months:
            if month < cutoff:
                cursor.execute(
                    f"DELETE FROM {DEFAULT_PARTITION} WHERE created_at < %s",  # noqa: S608
                    [_bound(add_months(month, 1))],
                )
                report.expired_default_rows += max(cursor.rowcount, 0)
            elif month not in existing:
                report.moved_rows += partition_create(month=month)
                existing[month] = partition_name(month)
                report.created.append(partition_name(month))

        for offset in range(ahead + 1):
            month = add_months(current, offset)
            if month not in existing:
                partition_create(month=month)
                existing[month] = partition_name(month)
                report.created.append(partition_name(month))

        for month in sorted(existing):
            if month < cutoff:
                partition_drop(month=month)
                report.dropped.append(existing.pop(month))
    if report.changed:
        logger.info("audit partitions: %s", report)
    return report
