"""The Monday summary email: to each organization's owners, with last week's figures, once per week."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail

from apps.catalog.tests.factories import ProductFactory
from apps.jobs import summaries, tasks
from apps.jobs.models import WeeklySummary
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

WEEK = date(2026, 3, 2)  # a Monday


def in_week(day: int):
    start, _ = summaries.week_bounds(WEEK)
    return start + timedelta(days=day, hours=10)


def test_last_week_start_is_the_previous_monday():
    assert summaries.last_week_start(date(2026, 3, 9)) == WEEK  # run on Monday 9th
    assert summaries.last_week_start(date(2026, 3, 11)) == WEEK  # late run on Wednesday
    assert summaries.week_bounds(WEEK)[1] == datetime.fromisoformat("2026-03-09T00:00:00+00:00")


def test_owners_get_the_summary_once(organization, owner, admin, other_organization, outsider):
    # given: last week's activity, and some outside the week
    ProductFactory(organization=organization, status="active", created_at=in_week(1))
    ProductFactory(organization=organization, status="active", created_at=in_week(-3))
    endpoint = WebhookEndpointFactory(organization=organization)
    WebhookDeliveryFactory(endpoint=endpoint, status="succeeded", created_at=in_week(2))
    WebhookDeliveryFactory(endpoint=endpoint, status="failed", created_at=in_week(3))
    from apps.orders.tests.factories import OrderFactory

    OrderFactory(
        organization=organization,
        status="confirmed",
        subtotal_cents=1234,
        total_cents=1234,
        created_at=in_week(4),
        lines=[],
    )
    OrderFactory(
        organization=organization,
        status="cancelled",
        subtotal_cents=999,
        total_cents=999,
        created_at=in_week(4),
        lines=[],
    )
    OrganizationFactory()  # no owner: no email
    # when
    sent = tasks.weekly_summaries.delay(WEEK.isoformat()).result
    # then: one email per organization with owners, to the owners only
    assert sent == 2
    mine = next(m for m in mail.outbox if organization.name in m.subject)
    assert mine.to == [owner.email]
    assert "2 active, 1 new this week" in mine.body
    assert "1 delivered, 1 failed" in mine.body
    assert "Orders: 1" in mine.body
    assert "Revenue: 12.34 USD" in mine.body
    assert mine.alternatives[0][1] == "text/html"
    assert {tuple(m.to) for m in mail.outbox} == {(owner.email,), (outsider.email,)}
    summary = WeeklySummary.objects.get(organization=organization, week_start=WEEK)
    assert summary.figures["products_created"] == 1
    # and running the job again (beat hiccup, manual rerun) sends nothing more
    tasks.weekly_summaries.delay(WEEK.isoformat())
    assert len(mail.outbox) == 2


def test_a_deleted_organization_gets_no_summary(organization, owner):
    from django.utils import timezone

    organization.deleted_at = timezone.now()
    organization.save()
    assert summaries.weekly_summary_send(organization_id=organization.id, week_start=WEEK) is False
    assert mail.outbox == []


def test_owners_of_several_organizations_get_one_email_each():
    first = MembershipFactory(role="owner")
    MembershipFactory(role="owner", user=first.user)
    tasks.weekly_summaries.delay(WEEK.isoformat())
    assert len(mail.outbox) == 2
