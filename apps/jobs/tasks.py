"""Scheduled jobs (beat) on the ``maintenance`` queue; the summary emails themselves on ``emails``."""

import smtplib

from celery import shared_task

from apps.jobs import housekeeping, summaries


@shared_task(acks_late=True)
def cleanup() -> dict[str, int]:
    """Nightly: expired sessions and tokens, dead invitations, old webhook attempts, soft-deleted rows, ..."""
    return housekeeping.run_cleanup()


@shared_task(acks_late=True)
def weekly_summaries(week_start: str | None = None) -> int:
    """Mondays: one summary task per organization for last week (each sends at most once)."""
    from datetime import date

    week = date.fromisoformat(week_start) if week_start else summaries.last_week_start()
    organization_ids = summaries.weekly_summary_organizations()
    for organization_id in organization_ids:
        send_weekly_summary.delay(str(organization_id), week.isoformat())
    return len(organization_ids)


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError))
def send_weekly_summary(organization_id: str, week_start: str) -> bool:
    from datetime import date

    return summaries.weekly_summary_send(organization_id=organization_id, week_start=date.fromisoformat(week_start))
