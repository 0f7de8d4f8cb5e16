"""The weekly summary email to each organization's owners (Mondays, for the week before)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from apps.catalog.models import Product
from apps.jobs.models import WeeklySummary
from apps.organizations.models import Membership, Organization
from apps.organizations.selectors import organization_owner_emails
from apps.webhooks.models import WebhookDelivery

logger = logging.getLogger("olympus.jobs")


def last_week_start(today: date | None = None) -> date:
    """The Monday of the last full week (UTC) before ``today``."""
    today = today or timezone.now().date()
    return today - timedelta(days=today.weekday() + 7)


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    start = datetime.combine(week_start, time.min, tzinfo=UTC)
    return start, start + timedelta(days=7)


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100:,}.{cents % 100:02d} {currency}"


def weekly_figures(*, organization: Organization, week_start: date) -> dict[str, Any]:
    """What the week looked like for one organization (later issues add their figures here)."""
    start, end = week_bounds(week_start)
    products = Product.objects.filter(organization=organization, deleted_at__isnull=True).aggregate(
        active=Count("id", filter=Q(status=Product.Status.ACTIVE)),
        created=Count("id", filter=Q(created_at__gte=start, created_at__lt=end)),
    )
    deliveries = WebhookDelivery.objects.filter(organization=organization, created_at__gte=start, created_at__lt=end)
    webhook = deliveries.aggregate(
        delivered=Count("id", filter=Q(status=WebhookDelivery.Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=WebhookDelivery.Status.FAILED)),
    )
    members = Membership.objects.filter(organization=organization, created_at__gte=start, created_at__lt=end).count()
    from apps.analytics.selectors import Period, organization_period_totals

    totals = organization_period_totals(
        organization=organization, period=Period(week_start, week_start + timedelta(days=6))
    )
    figures: dict[str, Any] = {
        "orders": totals["orders"],
        "revenue_cents": totals["revenue_cents"],
        "revenue_display": _money(totals["revenue_cents"], totals["currency"]),
        "average_order_display": _money(totals["average_order_cents"], totals["currency"]),
        "customers": totals["customers"],
        "products_active": products["active"],
        "products_created": products["created"],
        "members_joined": members,
        "webhooks_delivered": webhook["delivered"],
        "webhooks_failed": webhook["failed"],
    }
    return figures


def weekly_summary_organizations() -> list[uuid.UUID]:
    """Organizations that get a summary: not deleted, active, with at least one owner."""
    return list(
        Organization.objects.filter(deleted_at__isnull=True, status=Organization.Status.ACTIVE)
        .filter(memberships__role="owner")
        .distinct()
        .values_list("id", flat=True)
    )


def weekly_summary_send(*, organization_id: uuid.UUID | str, week_start: date) -> bool:
    """Email one organization's owners the summary of ``week_start``'s week, once: False if already sent."""
    with transaction.atomic():
        organization = Organization.objects.filter(pk=organization_id, deleted_at__isnull=True).first()
        if organization is None:
            return False
        summary, _ = WeeklySummary.objects.select_for_update().get_or_create(
            organization=organization, week_start=week_start
        )
        if summary.sent_at is not None:
            return False
        recipients = organization_owner_emails(organization_id=organization.pk)
        figures = weekly_figures(organization=organization, week_start=week_start)
        start, end = week_bounds(week_start)
        context = {
            "organization": organization,
            "figures": figures,
            "week_start": week_start,
            "week_end": (end - timedelta(days=1)).date(),
        }
        if recipients:
            message = EmailMultiAlternatives(
                subject=f"{organization.name}: your week on Olympus ({week_start:%b %d})",
                body=render_to_string("emails/weekly_summary.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=recipients,
            )
            message.attach_alternative(render_to_string("emails/weekly_summary.html", context), "text/html")
            # Sent inside the transaction: if the mail server refuses, nothing is marked sent and a retry sends it.
            message.send()
        summary.sent_at = timezone.now()
        summary.recipients = len(recipients)
        summary.figures = figures
        summary.save(update_fields=["sent_at", "recipients", "figures", "updated_at"])
    logger.info("weekly summary for %s (week of %s) sent to %d owner(s)", organization_id, week_start, len(recipients))
    return True
