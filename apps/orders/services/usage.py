"""The monthly order counter against the orders table: find and fix drift.

Placement keeps each organization's orders of the month on its order-number
counter row (``OrderNumberSequence.usage_orders``), so the ``orders_per_month``
check reads one row. Orders written outside :func:`order_place` (imports, the
shell, fixtures) are not counted there; the orders table is the source of
truth, and beat runs :func:`order_usage_reconcile` to bring every counter back
to it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.entitlements import usage_period_start
from apps.orders.models import Order, OrderNumberSequence
from apps.organizations.models import Organization


def _drifted(now: datetime) -> dict[uuid.UUID, datetime]:
    """Counters whose month or count differs from the orders table: ``{organization_id: period start}``.

    Two statements for every organization at once: the counters with their
    organizations' time zones, then the month's orders of each counted through
    the ``(organization, created_at)`` index.
    """
    rows = OrderNumberSequence.objects.values_list(
        "organization_id", "organization__settings", "usage_period_start", "usage_orders"
    )
    counters: dict[uuid.UUID, tuple[datetime, datetime | None, int]] = {}
    for organization_id, settings, period_start, used in rows:
        # A stand-in carrying the settings: usage_period_start reads only the time zone.
        start = usage_period_start(organization=Organization(settings=settings or {}), now=now)
        counters[organization_id] = (start, period_start, used)
    if not counters:
        return {}
    ids = list(counters)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.organization_id, (SELECT count(*) FROM "  # noqa: S608 - our table name
            f"{Order._meta.db_table} o WHERE o.organization_id = u.organization_id AND o.created_at >= u.since) "
            "FROM unnest(%s::uuid[], %s::timestamptz[]) AS u(organization_id, since)",
            [ids, [counters[pk][0] for pk in ids]],
        )
        actual = dict(cursor.fetchall())
    return {
        pk: start
        for pk, (start, period_start, used) in counters.items()
        if (period_start, used) != (start, actual.get(pk, 0))
    }


def order_usage_reconcile(*, now: datetime | None = None) -> int:
    """Set every drifted monthly counter to the count of the month's orders; returns how many were fixed.

    Each fix locks the counter row first and counts after the lock, so a
    placement committing meanwhile is counted once (it holds the row until it
    commits; the count then sees its order). Counters that agree are not
    written, so a run where nothing drifted takes no lock.
    """
    now = now or timezone.now()
    fixed = 0
    for organization_id, start in _drifted(now).items():
        with transaction.atomic():
            counter = OrderNumberSequence.objects.select_for_update().filter(organization_id=organization_id).first()
            if counter is None:  # pragma: no cover - the organization was deleted meanwhile
                continue
            used = Order.objects.filter(organization_id=organization_id, created_at__gte=start).count()
            if (counter.usage_period_start, counter.usage_orders) == (start, used):
                continue
            if counter.usage_period_start is not None and counter.usage_period_start > start:
                continue  # a placement already counts in the next month (this run's clock is behind)
            counter.usage_period_start, counter.usage_orders = start, used
            counter.save(update_fields=["usage_period_start", "usage_orders"])
            fixed += 1
    return fixed
