"""Billing tasks land on their concern's queue and are safe to run twice."""

import pytest

from apps.billing import tasks
from apps.billing.tests.factories import InvoiceFactory, SubscriptionFactory
from olympus.celery import app


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        (tasks.stripe_event_process, "webhooks"),
        (tasks.stripe_events_sweep, "webhooks"),
        (tasks.send_payment_failed_email, "emails"),
        (tasks.send_subscription_confirmation_email, "emails"),
    ],
)
def test_tasks_are_routed_to_their_queue(task, queue):
    route = app.amqp.router.route({}, task.name)

    assert route["queue"].name == queue


def test_the_sweep_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["billing.stripe-events-sweep"]["task"] == tasks.stripe_events_sweep.name


@pytest.mark.django_db
def test_the_payment_failed_email_task_sends_once(plans, mailoutbox, owner, organization):
    invoice = InvoiceFactory(
        subscription=SubscriptionFactory(organization=organization), status="open", attempt_count=1
    )

    assert tasks.send_payment_failed_email(str(invoice.pk)) is True
    assert tasks.send_payment_failed_email(str(invoice.pk)) is False

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [owner.email.lower()]
    assert mailoutbox[0].alternatives[0][1] == "text/html"
