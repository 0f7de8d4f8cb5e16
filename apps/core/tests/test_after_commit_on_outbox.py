"""Emails after a commit ride on the outbox: when the commit's relay is lost (Redis or the worker down),
the beat sweep still sends them. (Invitation, payment-failed and endpoint-disabled emails used to be
``transaction.on_commit(task.delay)``: lost with the relay.)"""

from datetime import timedelta

import pytest
from django.core import mail

from apps.billing.services.invoices import payment_failed_notice_queue
from apps.billing.tests.factories import InvoiceFactory
from apps.core import events
from apps.core.models import OutboxEvent
from apps.organizations import services as organization_services
from apps.webhooks import services as webhook_services
from apps.webhooks.tests.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def _sweep_after_lost_relay() -> int:
    """The on-commit relay never ran (these tests never commit); make the events look old and sweep."""
    OutboxEvent.objects.update(created_at=OutboxEvent.objects.first().created_at - timedelta(minutes=5))
    return events.outbox_sweep(grace=timedelta(seconds=10))


def test_an_invitation_email_survives_a_lost_relay(organization, owner):
    organization_services.invitation_create(
        actor=owner, organization=organization, email="new@example.com", role="member"
    )
    assert mail.outbox == []

    _sweep_after_lost_relay()

    assert [message.to for message in mail.outbox] == [["new@example.com"]]


def test_a_resent_invitation_email_survives_a_lost_relay(organization, owner):
    invitation = organization_services.invitation_create(
        actor=owner, organization=organization, email="new@example.com", role="member"
    )
    _sweep_after_lost_relay()

    organization_services.invitation_resend(actor=owner, invitation=invitation)
    _sweep_after_lost_relay()

    assert [message.to for message in mail.outbox] == [["new@example.com"], ["new@example.com"]]


def test_an_endpoint_disabled_email_survives_a_lost_relay(organization, owner):
    endpoint = WebhookEndpointFactory(organization=organization)

    webhook_services.webhook_endpoint_disable(actor=None, endpoint=endpoint, reason="Gone (410).")
    assert mail.outbox == []
    _sweep_after_lost_relay()

    assert [message.to for message in mail.outbox] == [[owner.email]]
    assert endpoint.url in mail.outbox[0].body


def test_a_payment_failed_email_survives_a_lost_relay(organization, owner):
    invoice = InvoiceFactory(organization=organization, status="open", attempt_count=1, amount_due_cents=2900)

    payment_failed_notice_queue(invoice=invoice)
    assert mail.outbox == []
    _sweep_after_lost_relay()

    assert len(mail.outbox) == 1
    assert owner.email.lower() in mail.outbox[0].to
