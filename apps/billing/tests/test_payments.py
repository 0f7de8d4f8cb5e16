"""Order payments and refunds through Stripe (a real local Stripe), and what Stripe's events do to orders."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditLog
from apps.billing.models import Payment, Refund, StripeEvent
from apps.billing.services import stripe_event_process
from apps.billing.tests.helpers import DECLINED_CARD, deliver, post_event
from apps.billing.tests.stripe_server import confirm_payment, event_for
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.core.models import OutboxEvent
from apps.orders import services as order_services
from apps.orders.models import Order
from apps.orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization, price_cents=1000, inventory_quantity=10)


@pytest.fixture
def order(organization, product, user):
    """A pending order of 2 × 10.00 placed by ``user`` (the customer): 8 left in stock."""
    return order_services.order_place(
        user=user,
        organization=organization,
        items=[{"product": product.pk, "quantity": 2}],
        shipping_address=ADDRESS,
    )


def pay_url(order):
    return f"/api/v1/orders/{order.pk}/payment/"


def refund_url(order):
    return f"/api/v1/orders/{order.pk}/refund/"


def stock(product):
    return Product.objects.get(pk=product.pk).inventory_quantity


@pytest.fixture
def paid(stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, user):
    """The customer paid: intent created through our API, card confirmed at Stripe, success event processed."""
    api_client_for(user).post(pay_url(order))
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id)
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.succeeded")
    order.refresh_from_db()
    return intent


# --- POST orders/{id}/payment/ -------------------------------------------------------------------


def test_the_customer_gets_a_payment_intent_for_the_order_total(stripe_api, api_client_for, order, user):
    response = api_client_for(user).post(pay_url(order))

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "requires_payment_method"
    assert data["client_secret"].startswith(data["payment_intent"] + "_secret_")
    assert (data["amount_cents"], data["currency"]) == (order.total_cents, "USD")
    intent = stripe_api.client().v1.payment_intents.retrieve(data["payment_intent"])
    assert (intent.amount, intent.currency) == (order.total_cents, "usd")
    assert intent.metadata["order_id"] == str(order.pk)
    assert intent.metadata["organization_id"] == str(order.organization_id)
    order.refresh_from_db()
    assert order.stripe_payment_intent_id == data["payment_intent"]
    assert AuditLog.objects.filter(action="order.payment_updated", resource_id=str(order.pk)).exists()


def test_paying_twice_returns_the_same_intent(stripe_api, api_client_for, order, user):
    client = api_client_for(user)

    first = client.post(pay_url(order)).json()
    second = client.post(pay_url(order)).json()

    assert first == second
    assert Payment.objects.filter(order=order).count() == 1


def test_only_the_customer_pays(stripe_api, api_client_for, order, owner):
    response = api_client_for(owner).post(pay_url(order))

    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_a_cancelled_order_cannot_be_paid(stripe_api, api_client_for, order, user):
    order_services.order_cancel(order=order)

    response = api_client_for(user).post(pay_url(order))

    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "not_payable"


def test_payment_answers_503_when_stripe_is_unreachable(api_client_for, order, user):
    response = api_client_for(user).post(pay_url(order))  # STRIPE_API_BASE points nowhere in tests

    assert response.status_code == 503
    assert not Payment.objects.exists()


# --- payment_intent events ------------------------------------------------------------------------


def test_a_succeeded_payment_captures_and_confirms_the_order(paid, order):
    assert (order.status, order.payment_status) == ("confirmed", "captured")
    payment = Payment.objects.get(order=order)
    assert payment.status == "succeeded"
    assert payment.succeeded_at is not None
    assert StripeEvent.objects.get().status == "processed"


def test_a_paid_order_is_confirmed_exactly_once_under_duplicate_delivery(
    stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, user
):
    # given: a paid intent
    api_client_for(user).post(pay_url(order))
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id)
    event = event_for(intent, "payment_intent.succeeded")

    # when: the same event three times, and Stripe's second event about the same success
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_event(client, event).status_code == 200
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.succeeded")

    # then
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert AuditLog.objects.filter(action="order.confirmed", resource_id=str(order.pk)).count() == 1
    assert OutboxEvent.objects.filter(event_type="order.confirmed").count() == 1
    assert StripeEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_success_events_confirm_once(stripe_server, settings, organization, product, user):
    # given: a paid intent and two distinct success events stored, processed by two workers at once
    settings.STRIPE_API_BASE = stripe_server.url
    order = order_services.order_place(
        user=user, organization=organization, items=[{"product": product.pk, "quantity": 1}], shipping_address=ADDRESS
    )
    from apps.billing.services import order_payment_intent

    payment, _ = order_payment_intent(user=user, order=order)
    intent = confirm_payment(stripe_server, payment.stripe_payment_intent_id)
    events = [
        StripeEvent.objects.create(  # stored without the on-commit relay, so that both wait for the workers
            stripe_event_id=event["id"],
            type=event["type"],
            stripe_created_at=timezone.now(),
            payload=event,
        )
        for event in (event_for(intent, "payment_intent.succeeded") for _ in "ab")
    ]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def work(event_id):
        try:
            barrier.wait()
            results.append(stripe_event_process(event_id=event_id))
        except Exception as exc:  # reported by the assertion below: a thread's exception would vanish
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(event.pk,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    order.refresh_from_db()
    # (On failure, say why: a full-suite run once saw one event left to retry.)
    assert sorted(results) == ["processed", "processed"], (
        errors,
        list(StripeEvent.objects.values_list("status", "last_error")),
    )
    assert order.status == "confirmed"
    assert AuditLog.objects.filter(action="order.confirmed", resource_id=str(order.pk)).count() == 1


def test_a_declined_payment_cancels_the_order_and_returns_the_stock_once(
    stripe_api, api_client_for, client, django_capture_on_commit_callbacks, mailoutbox, order, product, user
):
    # given: the customer's card is declined at Stripe
    api_client_for(user).post(pay_url(order))
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id, DECLINED_CARD)
    assert intent.status == "requires_payment_method"
    assert stock(product) == 8

    # when: Stripe's signed payment_failed event arrives, twice (redelivery)
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.payment_failed")
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.payment_failed")

    # then: cancelled with the documented reason, stock back once, the customer emailed once
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.cancel_reason) == ("cancelled", "failed", "payment_failed")
    assert order.stock_returned_at is not None
    assert stock(product) == 10
    assert Payment.objects.get().last_error == "Your card was declined."
    assert AuditLog.objects.filter(action="order.cancelled", resource_id=str(order.pk), actor=None).count() == 1
    assert OutboxEvent.objects.filter(event_type="order.cancelled").count() == 1
    assert [m.to for m in mailoutbox] == [[user.email]]
    assert "did not go through" in mailoutbox[0].body


def test_a_cancelled_payment_intent_cancels_the_order(
    stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, product
):
    # given: the order's intent is cancelled at Stripe
    api_client_for(order.user).post(pay_url(order))
    intent_id = Payment.objects.get(order=order).stripe_payment_intent_id
    intent = stripe_api.client().v1.payment_intents.cancel(intent_id)

    # when
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.canceled")

    # then
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == ("cancelled", "payment_failed")
    assert stock(product) == 10


def test_a_failure_event_for_an_order_staff_already_confirmed_leaves_it_alone(
    stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, product, user
):
    # given: staff confirmed the order (paid some other way), then a card attempt fails at Stripe
    api_client_for(user).post(pay_url(order))
    order_services.order_confirm(order=order)
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id, DECLINED_CARD)

    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.payment_failed")

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "failed")
    assert stock(product) == 8


@pytest.mark.django_db(transaction=True)
def test_a_failed_payment_and_the_timeout_sweep_racing_return_the_stock_exactly_once(
    stripe_server, settings, organization, product, user
):
    # given: an order placed long ago whose card was declined; the failure event is stored, not yet run
    settings.STRIPE_API_BASE = stripe_server.url
    order = order_services.order_place(
        user=user, organization=organization, items=[{"product": product.pk, "quantity": 3}], shipping_address=ADDRESS
    )
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timezone.timedelta(hours=2))
    from apps.billing.services import order_payment_intent
    from apps.orders.tasks import orders_payment_timeout_sweep

    payment, _ = order_payment_intent(user=user, order=order)
    intent = confirm_payment(stripe_server, payment.stripe_payment_intent_id, DECLINED_CARD)
    event = event_for(intent, "payment_intent.payment_failed")
    stored = StripeEvent.objects.create(
        stripe_event_id=event["id"], type=event["type"], stripe_created_at=timezone.now(), payload=event
    )
    assert stock(product) == 7
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def work(name, function):
        try:
            barrier.wait()
            results[name] = function()
        except Exception as exc:  # reported by the assertion below: a thread's exception would vanish
            errors.append(repr(exc))
        finally:
            connection.close()

    # when: a worker processes the Stripe event while beat's sweep runs
    threads = [
        threading.Thread(target=work, args=("stripe", lambda: stripe_event_process(event_id=stored.pk))),
        threading.Thread(target=work, args=("sweep", orders_payment_timeout_sweep)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then: one of them cancelled it, with its own reason; the stock came back exactly once
    assert not errors, errors
    assert results["stripe"] == "processed"
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.cancel_reason == ("payment_timeout" if results["sweep"] == 1 else "payment_failed")
    assert stock(product) == 10
    assert AuditLog.objects.filter(action="order.cancelled", resource_id=str(order.pk)).count() == 1
    assert OutboxEvent.objects.filter(event_type="order.cancelled").count() == 1


def test_a_late_failure_event_never_undoes_a_success(paid, client, django_capture_on_commit_callbacks, order):
    stale = {**paid.to_dict(recursive=True, for_json=True), "status": "requires_payment_method"}

    deliver(client, django_capture_on_commit_callbacks, stale, "payment_intent.payment_failed")

    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "captured")


def test_intents_that_are_not_order_payments_are_ignored(client, django_capture_on_commit_callbacks):
    intent = {"id": "pi_invoice", "object": "payment_intent", "status": "succeeded", "metadata": {}}

    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.succeeded")

    assert StripeEvent.objects.get().status == "ignored"


# --- refunds ----------------------------------------------------------------------------------------


def test_a_full_refund_goes_through_stripe_and_the_order_follows_the_webhook(
    paid, stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, product, member
):
    # when: a member refunds
    response = api_client_for(member).post(refund_url(order), {"reason": "Damaged"})

    # then: Stripe refunded; our order waits for Stripe's word
    assert response.status_code == 202, response.content
    assert response.json()["amount_cents"] == order.total_cents
    assert response.json()["status"] == "succeeded"
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "captured")
    charge = stripe_api.client().v1.charges.retrieve(paid.latest_charge.id)
    assert charge.refunded is True

    # when: charge.refunded arrives (twice)
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")

    # then: refunded, stock returned once
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("refunded", "refunded")
    assert stock(product) == 10
    assert Payment.objects.get().amount_refunded_cents == order.total_cents
    assert Refund.objects.get().reason == "Damaged"
    assert AuditLog.objects.filter(action="order.refunded", resource_id=str(order.pk)).count() == 1


def test_partial_refunds_are_recorded_and_the_last_one_refunds_the_order(
    paid, stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, product, owner
):
    client_for_owner = api_client_for(owner)

    # when: 5.00 of 20.00 back
    partial = client_for_owner.post(refund_url(order), {"amount_cents": 500})
    charge = stripe_api.client().v1.charges.retrieve(paid.latest_charge.id)
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")

    # then: recorded, the order keeps its status and its stock
    assert partial.status_code == 202
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "captured")
    assert Payment.objects.get().amount_refunded_cents == 500
    assert stock(product) == 8
    assert AuditLog.objects.filter(action="payment.partially_refunded").exists()
    assert OutboxEvent.objects.get(event_type="payment.refunded").payload["full"] is False

    # when: the rest (no amount: what is left)
    rest = client_for_owner.post(refund_url(order), {})
    charge = stripe_api.client().v1.charges.retrieve(paid.latest_charge.id)
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")

    # then
    assert rest.json()["amount_cents"] == order.total_cents - 500
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("refunded", "refunded")
    assert stock(product) == 10
    assert Refund.objects.count() == 2


def test_a_refund_beyond_what_is_left_is_refused(paid, api_client_for, order, owner):
    client = api_client_for(owner)
    client.post(refund_url(order), {"amount_cents": 1500})

    response = client.post(refund_url(order), {"amount_cents": 600})

    assert response.status_code == 400
    assert "amount_cents" in response.json()["error"]["details"]


def test_a_refund_with_the_same_idempotency_key_refunds_once(paid, stripe_api, api_client_for, order, owner):
    client = api_client_for(owner)

    first = client.post(refund_url(order), {"amount_cents": 300}, HTTP_IDEMPOTENCY_KEY="r-1")
    second = client.post(refund_url(order), {"amount_cents": 300}, HTTP_IDEMPOTENCY_KEY="r-1")

    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert stripe_api.client().v1.charges.retrieve(paid.latest_charge.id).amount_refunded == 300


@pytest.mark.parametrize(("caller", "expected"), [("viewer", 403), ("user", 403), ("outsider", 404)])
def test_only_members_with_orders_permission_refund(paid, api_client_for, order, request, caller, expected):
    response = api_client_for(request.getfixturevalue(caller)).post(refund_url(order), {})

    assert response.status_code == expected
    assert not Refund.objects.exists()


def test_an_order_not_paid_through_stripe_keeps_the_plain_refund_transition(api_client_for, order, owner):
    order_services.order_confirm(order=order)

    response = api_client_for(owner).post(refund_url(order), {"reason": "Paid in cash"})

    assert response.status_code == 200
    assert response.json()["status"] == "refunded"


def test_a_refund_of_a_cancelled_paid_order_marks_only_the_payment(
    paid, stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, owner, product
):
    # given: the paid order was cancelled (its stock came back) before the money went back
    order_services.order_cancel(order=order, reason="Out of stock")
    api_client_for(owner).post(refund_url(order), {})
    charge = stripe_api.client().v1.charges.retrieve(paid.latest_charge.id)

    # when
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")

    # then
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    assert stock(product) == 10


def test_stripe_events_are_signed_end_to_end(paid, client, order):
    """The payment path's webhook is the same endpoint: a wrong signature changes nothing."""
    response = post_event(client, event_for(paid, "payment_intent.payment_failed"), secret="whsec_wrong")

    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).payment_status == "captured"


# --- a cancelled order keeps none of the customer's money -------------------------------------------------


def test_cancelling_an_unpaid_order_cancels_its_payment_intent_at_stripe(
    stripe_api, api_client_for, django_capture_on_commit_callbacks, order, user
):
    # given: the customer opened a payment, then gave up
    api_client_for(user).post(pay_url(order))
    intent_id = Payment.objects.get(order=order).stripe_payment_intent_id

    # when: the order is cancelled (the outbox runs its handlers on commit)
    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_cancel(order=order, actor=user, by_customer=True)

    # then: Stripe will not take money for it any more, and our API says so too
    assert stripe_api.client().v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert Payment.objects.get(order=order).status == "canceled"
    assert AuditLog.objects.filter(action="payment.canceled", resource_type="payment").count() == 1
    response = api_client_for(user).post(pay_url(order))
    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "not_payable"


def test_a_payment_that_succeeds_after_the_order_was_cancelled_is_refunded_once(
    stripe_api, api_client_for, client, django_capture_on_commit_callbacks, order, product, user
):
    # given: the customer pays at Stripe while the timeout sweep cancels the order (its relay not run yet)
    api_client_for(user).post(pay_url(order))
    intent = confirm_payment(stripe_api, Payment.objects.get(order=order).stripe_payment_intent_id)
    assert intent.status == "succeeded"
    assert order_services.order_cancel_unpaid(order=order, reason=order_services.PAYMENT_TIMEOUT)

    # when: the success event arrives, twice (redelivery), and the cancellation's own handler runs too
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.succeeded")
    deliver(client, django_capture_on_commit_callbacks, intent, "payment_intent.succeeded")
    from apps.billing.services import order_payment_release

    assert order_payment_release(order_id=order.pk) == "none"

    # then: the order stays cancelled, and the whole amount goes back in one refund
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "captured")
    refunds = stripe_api.client().v1.refunds.list(params={"payment_intent": intent.id}).data
    assert [(r.amount, r.metadata["requested_by"]) for r in refunds] == [(2000, "olympus")]
    assert list(Refund.objects.values_list("amount_cents", "reason", "requested_by")) == [
        (2000, "order_cancelled", None)
    ]
    assert stock(product) == 10

    # and when Stripe says the charge was refunded, the payment is marked refunded, the stock untouched
    charge = stripe_api.client().v1.charges.retrieve(intent.latest_charge.id)
    deliver(client, django_capture_on_commit_callbacks, charge, "charge.refunded")
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    assert stock(product) == 10


def test_releasing_the_payment_leaves_a_live_orders_intent_alone(stripe_api, api_client_for, order, user):
    from apps.billing.services import order_payment_release

    api_client_for(user).post(pay_url(order))
    # a pending order's payment is not touched
    assert order_payment_release(order_id=order.pk) == "none"
    assert (
        stripe_api.client()
        .v1.payment_intents.retrieve(Payment.objects.get(order=order).stripe_payment_intent_id)
        .status
        == "requires_payment_method"
    )
