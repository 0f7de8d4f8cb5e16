"""POST /webhooks/stripe: signature, store once, process on the webhooks queue, order-proof effects."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditLog
from apps.billing.models import Invoice, StripeEvent, Subscription
from apps.billing.services import stripe_event_process, stripe_events_reprocess, stripe_events_sweep
from apps.billing.services import stripe_events as stripe_events_module
from apps.billing.tests.factories import on_default_plan
from apps.billing.tests.helpers import DECLINED_CARD, WEBHOOK, deliver, post_event, stripe_subscribe
from apps.billing.tests.stripe_server import event_for, signed
from apps.core.models import OutboxEvent
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def harmless_event(event_id="evt_test_harmless"):
    return event_for({"id": "cus_nobody", "object": "customer"}, "customer.created", event_id=event_id)


# --- signature -------------------------------------------------------------------------------------


def test_a_signed_event_is_stored_and_answered_at_once(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_event(client, harmless_event())

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = StripeEvent.objects.get(stripe_event_id="evt_test_harmless")
    assert event.type == "customer.created"
    assert event.status == StripeEvent.Status.IGNORED  # no handler for this type: stored, not acted on
    assert len(callbacks) == 1  # processing was queued after commit, not done in the request


def test_an_event_signed_with_the_previous_secret_is_accepted_during_rotation(client):
    response = post_event(client, harmless_event(), secret="whsec_test_previous")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("secret", "age", "reason"),
    [
        ("whsec_someone_else", 0, "The signature does not match."),
        ("whsec_test_current", 301, "The signature is too old."),
        ("whsec_test_previous", 3600, "The signature is too old."),
    ],
)
def test_a_bad_or_stale_signature_is_refused_and_nothing_is_stored(client, secret, age, reason):
    response = post_event(client, harmless_event(), secret=secret, timestamp=int(time.time()) - age)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"stripe_signature": [reason]}
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("ahead", [301, 400, 86400])
def test_a_signature_dated_in_the_future_beyond_tolerance_is_refused(client, ahead):
    response = post_event(client, harmless_event(), timestamp=int(time.time()) + ahead)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"stripe_signature": ["The signature is dated in the future."]}
    assert not StripeEvent.objects.exists()


def test_a_signature_a_little_ahead_is_accepted_for_clock_skew(client):
    response = post_event(client, harmless_event(), timestamp=int(time.time()) + 60)

    assert response.status_code == 200


def test_a_signature_within_tolerance_is_accepted(client):
    response = post_event(client, harmless_event(), timestamp=int(time.time()) - 290)

    assert response.status_code == 200


def test_a_missing_signature_is_refused(client):
    response = client.post(WEBHOOK, json.dumps(harmless_event()), content_type="application/json")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_tampered_body_is_refused(client):
    body, header = signed(harmless_event(), "whsec_test_current")

    response = client.post(
        WEBHOOK,
        body.replace(b"customer.created", b"customer.deleted"),
        "application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )

    assert response.status_code == 400


def test_the_signature_is_stripes_v1_hmac_of_timestamp_dot_body():
    import hashlib
    import hmac

    body, header = signed('{"id": "evt_1"}', "whsec_x", timestamp=1700000000)

    expected = hmac.new(b"whsec_x", b'1700000000.{"id": "evt_1"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_signed_body_that_is_not_an_event_is_refused(client):
    body, header = signed('{"hello": "world"}', "whsec_test_current")

    response = client.post(WEBHOOK, body, "application/json", HTTP_STRIPE_SIGNATURE=header)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_webhooks_answer_503_without_a_configured_secret(client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []

    response = post_event(client, harmless_event(), secret="whsec_test_current")

    assert response.status_code == 503


# --- store once ----------------------------------------------------------------------------------


def test_a_redelivered_event_is_acknowledged_without_a_second_effect(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization
):
    # given: an event that moves the organization to pro, delivered once
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    event = event_for(subscription, "customer.subscription.created")
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event)

    # when: Stripe delivers it again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = post_event(client, event)

    # then
    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert callbacks == []
    assert StripeEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
    assert OutboxEvent.objects.filter(event_type="subscription.updated").count() == 1


def test_processing_twice_has_one_effect(client, stripe_prices, stripe_api, organization):
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    post_event(client, event_for(subscription, "customer.subscription.created"))  # stored, not yet processed
    event = StripeEvent.objects.get()

    first = stripe_event_process(event_id=event.pk)
    second = stripe_event_process(event_id=event.pk)

    assert (first, second) == ("processed", "skipped")
    assert OutboxEvent.objects.filter(event_type="subscription.updated").count() == 1


def test_an_event_leased_by_another_process_is_skipped_and_stays_pending(
    client, stripe_prices, stripe_api, organization
):
    # The lease is in the cache, not a session advisory lock: a transaction pooler cannot break it.
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    post_event(client, event_for(subscription, "customer.subscription.created"))
    event = StripeEvent.objects.get()

    with stripe_events_module._event_lock(event.pk) as leased:  # another worker holds it
        assert leased
        assert stripe_event_process(event_id=event.pk) == "skipped"
        assert StripeEvent.objects.get().status == StripeEvent.Status.PENDING

    assert stripe_event_process(event_id=event.pk) == "processed"


# --- subscriptions: effects and ordering ------------------------------------------------------------


def test_a_subscription_puts_the_organization_on_its_plan(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization
):
    # given
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")

    # when
    deliver(client, django_capture_on_commit_callbacks, subscription, "customer.subscription.created")

    # then
    organization.refresh_from_db()
    assert organization.features == {"webhooks": True, "analytics": True, "graphql": False}
    assert organization.limits == stripe_prices["pro"].limits
    row = Subscription.objects.get(stripe_subscription_id=subscription.id)
    assert (row.status, row.plan.code, row.interval) == ("active", "pro", "month")
    assert row.current_period_end > timezone.now()
    assert AuditLog.objects.filter(action="organization.plan_changed", organization_id=organization.pk).exists()
    assert AuditLog.objects.filter(action="subscription.created", resource_id=str(row.pk)).exists()
    outbox = OutboxEvent.objects.get(event_type="subscription.updated")
    assert outbox.organization_id == organization.pk
    assert outbox.payload["organization_plan"] == "pro"
    assert outbox.payload["previous_organization_plan"] == "free"
    assert StripeEvent.objects.get().organization_id == organization.pk


def test_updated_before_created_ends_in_the_same_state_once(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization
):
    # given: Stripe's "created" snapshot (still incomplete) and a later "updated" one
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    created = {**subscription.to_dict(recursive=True, for_json=True), "status": "incomplete"}

    # when: they arrive in the wrong order
    deliver(client, django_capture_on_commit_callbacks, subscription, "customer.subscription.updated")
    deliver(client, django_capture_on_commit_callbacks, created, "customer.subscription.created")

    # then: the current state (read from Stripe) wins, announced once
    organization.refresh_from_db()
    assert Subscription.objects.get().status == "active"
    assert organization.limits == stripe_prices["pro"].limits
    assert OutboxEvent.objects.filter(event_type="subscription.updated").count() == 1
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_late_update_after_deletion_does_not_revive_the_plan(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization
):
    # given: an active pro subscription, then canceled at Stripe
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    active_snapshot = subscription.to_dict(recursive=True, for_json=True)
    deliver(client, django_capture_on_commit_callbacks, subscription, "customer.subscription.created")
    deleted = stripe_api.client().v1.subscriptions.cancel(subscription.id)
    deliver(client, django_capture_on_commit_callbacks, deleted, "customer.subscription.deleted")

    # when: an "updated" event from before the deletion arrives last
    deliver(client, django_capture_on_commit_callbacks, active_snapshot, "customer.subscription.updated")

    # then
    organization.refresh_from_db()
    row = Subscription.objects.get()
    assert row.status == "canceled"
    assert row.ended_at is not None
    assert organization.limits == stripe_prices["free"].limits
    assert organization.features == {"webhooks": False, "analytics": False, "graphql": False}
    plans = list(
        OutboxEvent.objects.filter(event_type="subscription.updated")
        .order_by("created_at")
        .values_list("payload__organization_plan", flat=True)
    )
    assert plans == ["pro", "free"]


def test_an_older_state_never_overwrites_a_newer_one(stripe_prices, stripe_api, organization):
    from apps.billing.services import subscription_apply

    on_default_plan(organization)
    data = stripe_subscribe(stripe_api, organization, "pro").to_dict(recursive=True, for_json=True)
    now = timezone.now()
    subscription_apply(data={**data, "cancel_at_period_end": True}, as_of=now)

    subscription_apply(data={**data, "cancel_at_period_end": False}, as_of=now - timedelta(seconds=5))

    assert Subscription.objects.get().cancel_at_period_end is True


def test_a_canceled_subscription_is_never_revived(stripe_prices, stripe_api, organization):
    from apps.billing.services import subscription_apply

    on_default_plan(organization)
    data = stripe_subscribe(stripe_api, organization, "pro").to_dict(recursive=True, for_json=True)
    now = timezone.now()
    subscription_apply(data={**data, "status": "canceled"}, as_of=now)

    subscription_apply(data=data, as_of=now + timedelta(seconds=5))

    assert Subscription.objects.get().status == "canceled"


def test_an_unknown_price_fails_the_event_until_staff_fix_it_and_reprocess(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization
):
    # given: a subscription to a price no plan knows (e.g. created in Stripe's dashboard)
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    price = stripe_prices["pro"].stripe_price_monthly
    stripe_prices["pro"].stripe_price_monthly = ""
    stripe_prices["pro"].save()

    # when
    deliver(client, django_capture_on_commit_callbacks, subscription, "customer.subscription.created")

    # then: parked as failed, not retried
    event = StripeEvent.objects.get()
    assert event.status == "failed"
    assert price in event.last_error

    # when: staff set the price and reprocess
    stripe_prices["pro"].stripe_price_monthly = price
    stripe_prices["pro"].save()
    with django_capture_on_commit_callbacks(execute=True):
        stripe_events_reprocess(event_ids=[event.pk])

    # then
    event.refresh_from_db()
    assert event.status == "processed"
    assert Subscription.objects.filter(stripe_subscription_id=subscription.id).exists()


def test_a_transient_failure_is_retried_later_by_the_sweep(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization, settings
):
    # given: Stripe unreachable while the event is processed
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    deliver(client, django_capture_on_commit_callbacks, subscription, "customer.subscription.created")
    event = StripeEvent.objects.get()
    assert (event.status, event.attempts) == ("pending", 1)
    assert event.next_attempt_at > timezone.now()
    assert "PaymentProviderUnavailable" in event.last_error

    # when: Stripe is back and the retry is due
    settings.STRIPE_API_BASE = stripe_api.url
    assert stripe_events_sweep() == 0  # not due yet
    StripeEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    processed = stripe_events_sweep()

    # then
    event.refresh_from_db()
    assert processed == 1
    assert (event.status, event.attempts) == ("processed", 2)


def test_events_of_customers_we_do_not_know_are_ignored(client, django_capture_on_commit_callbacks, stripe_prices):
    subscription = {
        "id": "sub_elsewhere",
        "object": "subscription",
        "customer": "cus_elsewhere",
        "status": "active",
        "metadata": {},
        "items": {"data": []},
    }

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event_for(subscription, "invoice.paid"))

    assert StripeEvent.objects.get().status == "ignored"


# --- checkout completion, invoices ------------------------------------------------------------------


def test_checkout_completed_completes_our_session_and_applies_the_subscription(
    api_client_for, client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization, owner
):
    # given: an owner started a checkout and the customer paid on Stripe's page
    on_default_plan(organization)
    started = api_client_for(owner).post(
        "/api/v1/billing/checkout",
        {
            "organization": str(organization.pk),
            "plan": "enterprise",
            "interval": "year",
            "success_url": "https://app.example.com/done",
            "cancel_url": "https://app.example.com/billing",
        },
    )
    paid = stripe_api.pay_checkout(started.json()["checkout_url"])
    assert paid.status_code == 303
    assert paid.headers["Location"] == "https://app.example.com/done"
    session = stripe_api.client().v1.checkout.sessions.retrieve(started.json()["session_id"])

    # when
    deliver(client, django_capture_on_commit_callbacks, session, "checkout.session.completed")

    # then
    organization.refresh_from_db()
    checkout = organization.checkout_sessions.get()
    assert checkout.status == "complete"
    assert checkout.stripe_subscription_id == session.subscription
    assert Subscription.objects.get().interval == "year"
    assert organization.features["graphql"] is True
    assert organization.limits["products"] is None


def test_a_subscription_started_through_checkout_is_confirmed_by_email_once(
    api_client_for,
    client,
    django_capture_on_commit_callbacks,
    stripe_prices,
    stripe_api,
    organization,
    owner,
    mailoutbox,
):
    # given: an owner bought Pro (monthly) through checkout; the organization has a billing email
    on_default_plan(organization)
    organization.billing_email = "Accounts@Acme.test"
    organization.save()
    started = api_client_for(owner).post(
        "/api/v1/billing/checkout",
        {
            "organization": str(organization.pk),
            "plan": "pro",
            "interval": "month",
            "success_url": "https://app.example.com/done",
            "cancel_url": "https://app.example.com/billing",
        },
    )
    stripe_api.pay_checkout(started.json()["checkout_url"])
    session = stripe_api.client().v1.checkout.sessions.retrieve(started.json()["session_id"])
    assert mailoutbox == []

    # when: Stripe reports the completion, and delivers the same news again as another event
    deliver(client, django_capture_on_commit_callbacks, session, "checkout.session.completed")
    deliver(client, django_capture_on_commit_callbacks, session, "checkout.session.completed")

    # then: one confirmation, to the buyer and the billing contact, naming the plan and its price
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [owner.email.lower(), "accounts@acme.test"]
    assert message.subject == "Acme is subscribed to Pro on Olympus"
    assert "billed monthly at 29.00 USD" in message.body
    assert "29.00 USD" in message.alternatives[0][0]
    assert organization.checkout_sessions.get().confirmation_sent_at is not None
    assert OutboxEvent.objects.filter(event_type="billing.checkout_completed").count() == 1


def test_a_paid_invoice_is_recorded(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization
):
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    invoice = stripe_api.client().v1.invoices.retrieve(subscription.latest_invoice)

    deliver(client, django_capture_on_commit_callbacks, invoice, "invoice.paid")

    row = Invoice.objects.get(stripe_invoice_id=invoice.id)
    assert (row.status, row.amount_paid_cents, row.currency) == ("paid", 2900, "USD")
    assert row.subscription.stripe_subscription_id == subscription.id
    organization.refresh_from_db()
    assert organization.limits == stripe_prices["pro"].limits  # the paid invoice also synced the subscription


def test_a_settled_invoice_does_not_reopen(stripe_prices, stripe_api, organization):
    from apps.billing.services import invoice_apply

    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro")
    data = stripe_api.client().v1.invoices.retrieve(subscription.latest_invoice).to_dict()
    invoice_apply(data=data, status="paid")

    invoice_apply(data={**data, "status": "open"})

    assert Invoice.objects.get().status == "paid"


def test_payment_failure_emails_the_billing_contact_and_owners_once_per_attempt(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization, owner, admin, mailoutbox
):
    # given: a second owner, a billing email, and a card that Stripe declines
    on_default_plan(organization)
    organization.billing_email = "Accounts@Acme.test"
    organization.save()
    second_owner = MembershipFactory(organization=organization, role="owner").user
    subscription = stripe_subscribe(stripe_api, organization, "pro", card=DECLINED_CARD)
    invoice = stripe_api.client().v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.status == "open"

    # when: Stripe reports the failure, then a second event about the same attempt
    deliver(client, django_capture_on_commit_callbacks, invoice, "invoice.payment_failed")
    deliver(client, django_capture_on_commit_callbacks, invoice, "invoice.payment_failed")

    # then
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["accounts@acme.test", owner.email.lower(), second_owner.email.lower()]
    assert admin.email not in message.to
    assert "Payment failed for Acme" in message.subject
    assert "29.00 USD" in message.body
    assert Invoice.objects.get().failure_notified_attempt == 1
    assert Subscription.objects.get().status == "incomplete"  # not live: the organization stays on free
    organization.refresh_from_db()
    assert organization.limits in ({}, stripe_prices["free"].limits)


def test_a_new_failed_attempt_is_emailed_again(
    client, django_capture_on_commit_callbacks, stripe_prices, stripe_api, organization, owner, mailoutbox
):
    on_default_plan(organization)
    subscription = stripe_subscribe(stripe_api, organization, "pro", card=DECLINED_CARD)
    invoice = stripe_api.client().v1.invoices.retrieve(subscription.latest_invoice).to_dict()

    deliver(client, django_capture_on_commit_callbacks, invoice, "invoice.payment_failed")
    deliver(client, django_capture_on_commit_callbacks, {**invoice, "attempt_count": 2}, "invoice.payment_failed")

    assert len(mailoutbox) == 2
