"""The beat schedule: ``CELERY_BEAT_SCHEDULE`` seeds django-celery-beat rows, the admin owns them after.

django-celery-beat's own ``DatabaseScheduler`` rewrites every entry named in
``CELERY_BEAT_SCHEDULE`` each time beat starts, so an interval changed or a
job disabled in the admin would come back at the next deploy. This scheduler
(and ``manage.py sync_periodic_tasks``, run by ``make run`` and the compose
``migrate`` service) only creates the entries that are missing: idempotent,
and edits made in the admin stay.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django_celery_beat import schedulers
from django_celery_beat.models import PeriodicTask

logger = logging.getLogger("olympus.jobs")


def periodic_tasks_sync(
    *, schedule: dict[str, dict[str, Any]] | None = None, reset: bool = False
) -> dict[str, list[str]]:
    """Create missing periodic tasks from ``CELERY_BEAT_SCHEDULE`` (``reset``: overwrite existing ones too)."""
    schedule = settings.CELERY_BEAT_SCHEDULE if schedule is None else schedule
    report: dict[str, list[str]] = {"created": [], "reset": [], "kept": []}
    with transaction.atomic():
        existing = set(PeriodicTask.objects.filter(name__in=list(schedule)).values_list("name", flat=True))
        for name, entry in schedule.items():
            if name in existing and not reset:
                report["kept"].append(name)
                continue
            fields = schedulers.ModelEntry._unpack_fields(**entry)
            PeriodicTask.objects.update_or_create(name=name, defaults=fields)
            report["reset" if name in existing else "created"].append(name)
    if report["created"] or report["reset"]:
        logger.info("periodic tasks: created %s, reset %s", report["created"], report["reset"])
    return report


class DatabaseScheduler(schedulers.DatabaseScheduler):
    """django-celery-beat's scheduler, except that it never overwrites an entry that already exists."""

    def update_from_dict(self, mapping: dict[str, dict[str, Any]]) -> None:
        existing = set(PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True))
        super().update_from_dict({name: entry for name, entry in mapping.items() if name not in existing})
