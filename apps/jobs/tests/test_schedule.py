"""The beat schedule: every job exists after a sync, a second sync changes nothing, admin edits stay."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.jobs.beat import DatabaseScheduler, periodic_tasks_sync
from olympus.celery import app

pytestmark = pytest.mark.django_db

EXPECTED = {
    "core.outbox-sweep": "apps.core.tasks.outbox_sweep",
    "webhooks.due-sweep": "apps.webhooks.tasks.webhook_sweep",
    "audit.partition-maintenance": "apps.audit.tasks.audit_partitions_maintain",
    "jobs.cleanup": "apps.jobs.tasks.cleanup",
    "jobs.weekly-summary": "apps.jobs.tasks.weekly_summaries",
}


def test_sync_creates_every_job_once():
    # when
    first = periodic_tasks_sync()
    second = periodic_tasks_sync()
    # then
    tasks = dict(PeriodicTask.objects.values_list("name", "task"))
    assert EXPECTED.items() <= tasks.items()
    assert set(first["created"]) == set(settings.CELERY_BEAT_SCHEDULE)
    assert second["created"] == []
    assert PeriodicTask.objects.filter(name__in=EXPECTED).count() == len(EXPECTED)
    weekly = PeriodicTask.objects.get(name="jobs.weekly-summary").crontab
    assert (weekly.day_of_week, weekly.hour, weekly.minute) == ("1", "7", "0")
    assert PeriodicTask.objects.get(name="webhooks.due-sweep").interval.every == 60


@pytest.mark.django_db(transaction=True)  # beat closes connections that are inside a transaction
def test_admin_edits_survive_a_sync_and_a_beat_start_but_not_a_reset():
    # given: staff slowed the webhook sweep down and disabled the weekly email in the admin
    periodic_tasks_sync()
    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=300, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="webhooks.due-sweep").update(interval=every_five_minutes)
    PeriodicTask.objects.filter(name="jobs.weekly-summary").update(enabled=False)
    # when: a deploy syncs again and beat starts with our scheduler
    call_command("sync_periodic_tasks")
    # (what beat's setup_schedule does with CELERY_BEAT_SCHEDULE; django-celery-beat's own would overwrite)
    scheduler = DatabaseScheduler(app=app, lazy=True)
    scheduler.update_from_dict(settings.CELERY_BEAT_SCHEDULE)
    # then
    assert PeriodicTask.objects.get(name="webhooks.due-sweep").interval.every == 300
    assert not PeriodicTask.objects.get(name="jobs.weekly-summary").enabled
    assert "webhooks.due-sweep" in scheduler.schedule
    assert "jobs.weekly-summary" not in scheduler.schedule  # disabled: beat will not run it
    # and an explicit reset goes back to the defaults
    call_command("sync_periodic_tasks", "--reset")
    assert PeriodicTask.objects.get(name="webhooks.due-sweep").interval.every == 60
