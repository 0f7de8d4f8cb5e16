"""Deliveries to a real HTTP receiver on the loopback: signing, retries, dead letters, 410, SSRF refusals."""

import json
import threading
import time
import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook
from werkzeug import Response

from apps.core import events
from apps.webhooks import services, signing
from apps.webhooks.models import WebhookAttempt, WebhookDelivery
from apps.webhooks.services.delivery import _claim
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

SCHEDULE = [60, 300, 1800, 7200, 28800]


def publish(organization, event_type="product.created", payload=None, capture=None):
    """Publish an outbox event and run everything it causes after commit (relay → fan-out → delivery).

    The relay drains every due event; events the fixtures left pending (their commits
    never ran their callbacks) are marked done first, so only this one is delivered.
    """
    from apps.core.models import OutboxEvent

    OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).update(status=OutboxEvent.Status.DISPATCHED)
    with capture(execute=True):
        return events.publish_event(
            event_type=event_type, payload=payload or {"product_id": "p1"}, organization_id=organization.id
        )


def make_due(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_event_is_delivered_signed_in_both_schemes(
    httpserver, endpoint, organization, django_capture_on_commit_callbacks
):
    # given
    httpserver.expect_oneshot_request("/hooks", method="POST").respond_with_data("thanks", status=200)
    # when
    event = publish(organization, payload={"product_id": "p1"}, capture=django_capture_on_commit_callbacks)
    # then: one request, verifiable with the standardwebhooks library and the Olympus header
    assert len(httpserver.log) == 1
    request, _ = httpserver.log[0]
    body = request.get_data()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event_id=event.id)
    verified = Webhook(endpoint.secret).verify(body, dict(request.headers))
    assert verified["type"] == "product.created"
    assert verified["id"] == str(event.id)
    assert verified["data"] == {"product_id": "p1"}
    assert verified["organization_id"] == str(organization.id)
    assert request.headers["webhook-id"] == str(delivery.id)
    assert signing.verify_olympus_signature(
        secret=endpoint.secret, header=request.headers["X-Olympus-Signature"], body=body
    )
    assert request.headers["Content-Type"] == "application/json"
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.delivered_at is not None
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.response_body, attempt.succeeded) == (200, "thanks", True)


def test_subscriptions_and_tenants_decide_who_receives(
    httpserver, organization, owner, other_organization, receiver_url, django_capture_on_commit_callbacks
):
    # given
    httpserver.expect_request("/hooks").respond_with_data("ok")
    orders_only = WebhookEndpointFactory(organization=organization, url=receiver_url, event_types=["order.*"])
    exact = WebhookEndpointFactory(organization=organization, url=receiver_url, event_types=["product.created"])
    inactive = WebhookEndpointFactory(organization=organization, url=receiver_url, is_active=False)
    foreign = WebhookEndpointFactory(organization=other_organization, url=receiver_url)
    # when
    publish(organization, "product.created", capture=django_capture_on_commit_callbacks)
    publish(organization, "order.created", capture=django_capture_on_commit_callbacks)
    # then
    assert list(orders_only.deliveries.values_list("event_type", flat=True)) == ["order.created"]
    assert list(exact.deliveries.values_list("event_type", flat=True)) == ["product.created"]
    assert not inactive.deliveries.exists()
    assert not foreign.deliveries.exists()
    assert len(httpserver.log) == 2


def test_fan_out_twice_creates_one_delivery_per_endpoint(endpoint, organization):
    event = events.publish_event(event_type="product.updated", payload={}, organization_id=organization.id)
    services.webhook_fan_out(event=event)
    services.webhook_fan_out(event=event)
    assert WebhookDelivery.objects.filter(event_id=event.id).count() == 1


def test_failures_retry_on_the_schedule_then_dead_letter(httpserver, endpoint, settings):
    # given: a receiver that always fails, and a delivery due now
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    settings.WEBHOOK_RETRY_JITTER = 0.2
    httpserver.expect_request("/hooks").respond_with_data("down", status=500)
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    # when / then: after attempt n the next one waits about SCHEDULE[n-1] (±20 %), never a Celery countdown
    for attempt, wait in enumerate(SCHEDULE, start=1):
        before = timezone.now()
        result = services.webhook_delivery_attempt(delivery_id=delivery.id)
        delivery.refresh_from_db()
        assert result.outcome == "retry"
        assert delivery.attempts == attempt
        assert delivery.status == WebhookDelivery.Status.PENDING
        delay = (delivery.next_attempt_at - before).total_seconds()
        assert wait * 0.8 - 1 <= delay <= wait * 1.2 + 1, (attempt, delay)
        assert services.webhook_delivery_attempt(delivery_id=delivery.id) is None  # not due yet: no request
        make_due(delivery)
    # the sixth attempt (fifth retry) fails too: dead letter
    result = services.webhook_delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert result.outcome == "failed"
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.failed_at is not None
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 6
    assert len(httpserver.log) == 6
    assert endpoint.consecutive_failures == 1
    assert endpoint.is_active


def test_retry_after_is_honoured(httpserver, endpoint):
    httpserver.expect_request("/hooks").respond_with_data("slow down", status=429, headers={"Retry-After": "5400"})
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    before = timezone.now()
    services.webhook_delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert (delivery.next_attempt_at - before).total_seconds() >= 5400


def test_gone_disables_the_endpoint_and_emails_the_owners(
    httpserver, endpoint, owner, django_capture_on_commit_callbacks
):
    # given
    httpserver.expect_request("/hooks").respond_with_data("gone", status=410)
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = services.webhook_delivery_attempt(delivery_id=delivery.id)
    # then
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert result.outcome == "gone"
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert endpoint.url in mail.outbox[0].body
    assert len(httpserver.log) == 1


def test_consecutive_dead_letters_disable_the_endpoint(
    httpserver, endpoint, owner, settings, django_capture_on_commit_callbacks
):
    # given: one attempt per delivery, disabled after two dead letters in a row
    settings.WEBHOOK_RETRY_SCHEDULE = []
    settings.WEBHOOK_DISABLE_AFTER_DEAD_LETTERS = 2
    httpserver.expect_request("/hooks").respond_with_data("nope", status=500)
    first, second = WebhookDeliveryFactory(endpoint=endpoint), WebhookDeliveryFactory(endpoint=endpoint)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_attempt(delivery_id=first.id)
        endpoint.refresh_from_db()
        assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 1)
        services.webhook_delivery_attempt(delivery_id=second.id)
    # then
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.consecutive_failures == 2
    assert len(mail.outbox) == 1
    # a disabled endpoint's pending deliveries are dead-lettered without a request
    third = WebhookDeliveryFactory(endpoint=endpoint)
    assert services.webhook_delivery_attempt(delivery_id=third.id).outcome == "failed"
    assert len(httpserver.log) == 2


def test_a_delivered_request_resets_the_failure_streak(httpserver, endpoint):
    endpoint.consecutive_failures = 3
    endpoint.save()
    httpserver.expect_request("/hooks").respond_with_data("ok")
    services.webhook_delivery_attempt(delivery_id=WebhookDeliveryFactory(endpoint=endpoint).id)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_redirects_are_not_followed(httpserver, endpoint):
    httpserver.expect_request("/hooks").respond_with_response(
        Response("", status=302, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    result = services.webhook_delivery_attempt(delivery_id=delivery.id)
    assert (result.outcome, result.status_code) == ("retry", 302)
    assert [r.path for r, _ in httpserver.log] == ["/hooks"]


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(httpserver, endpoint, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    answer = threading.Event()

    def slow(request):
        answer.wait(10)  # answers only once the test has seen the timeout
        return Response("late")

    httpserver.expect_request("/hooks").respond_with_handler(slow)
    httpserver.expect_request("/drained").respond_with_data("")
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    started = time.monotonic()
    result = services.webhook_delivery_attempt(delivery_id=delivery.id)
    assert time.monotonic() - started < 5
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert result.outcome == "retry"
    assert attempt.status_code is None
    assert "timeout" in attempt.error.lower() or "timed out" in attempt.error.lower()
    # The receiver (one thread) finishes the late request before it serves the next one: once
    # /drained answers, nothing of this test can still land in a later test's request log.
    answer.set()
    assert urllib.request.urlopen(httpserver.url_for("/drained"), timeout=10).status == 200  # noqa: S310


def test_a_claimed_delivery_is_not_sent_twice(httpserver, endpoint):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    assert _claim(delivery.id) is not None
    # a duplicate task (redelivered message, sweep) finds it leased
    assert services.webhook_delivery_attempt(delivery_id=delivery.id) is None
    assert [request.headers.get("webhook-id") for request, _ in httpserver.log] == []


def test_the_sweep_queues_due_deliveries_once(httpserver, endpoint, django_capture_on_commit_callbacks):
    # given: a due delivery whose task was lost, one queued a moment ago, one not due
    httpserver.expect_request("/hooks").respond_with_data("ok")
    now = timezone.now()
    lost = WebhookDeliveryFactory(endpoint=endpoint, next_attempt_at=now, enqueued_at=now - timedelta(minutes=10))
    queued = WebhookDeliveryFactory(endpoint=endpoint, next_attempt_at=now, enqueued_at=now)
    later = WebhookDeliveryFactory(endpoint=endpoint, next_attempt_at=now + timedelta(minutes=5))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        count = services.webhook_deliveries_sweep()
    # then
    assert count == 1
    statuses = dict(WebhookDelivery.objects.values_list("id", "status"))
    assert statuses[lost.id] == WebhookDelivery.Status.SUCCEEDED
    assert statuses[queued.id] == statuses[later.id] == WebhookDelivery.Status.PENDING


def test_a_retry_becomes_due_for_the_sweep(httpserver, endpoint, django_capture_on_commit_callbacks):
    httpserver.expect_ordered_request("/hooks").respond_with_data("err", status=500)
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    delivery = WebhookDeliveryFactory(endpoint=endpoint, enqueued_at=timezone.now())
    services.webhook_delivery_attempt(delivery_id=delivery.id)
    make_due(delivery)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempt_log.count() == 2


def test_replay_sends_a_dead_letter_again_with_the_same_webhook_id(
    httpserver, endpoint, owner, django_capture_on_commit_callbacks
):
    # given: a dead letter
    httpserver.expect_request("/hooks").respond_with_data("ok")
    delivery = WebhookDeliveryFactory(endpoint=endpoint, status=WebhookDelivery.Status.FAILED, attempts=6)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_replay(actor=owner, delivery=delivery)
    # then
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert httpserver.log[0][0].headers["webhook-id"] == str(delivery.id)


def test_range_replay_takes_only_dead_letters_in_the_range(
    httpserver, endpoint, owner, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    now = timezone.now()
    inside = WebhookDeliveryFactory(endpoint=endpoint, status="failed", created_at=now - timedelta(hours=2))
    outside = WebhookDeliveryFactory(endpoint=endpoint, status="failed", created_at=now - timedelta(days=2))
    delivered = WebhookDeliveryFactory(endpoint=endpoint, status="succeeded", created_at=now - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        count = services.webhook_deliveries_replay(
            actor=owner, endpoint=endpoint, created_after=now - timedelta(days=1), created_before=now
        )
    assert count == 1
    statuses = dict(WebhookDelivery.objects.values_list("id", "status"))
    assert statuses[inside.id] == "succeeded"
    assert statuses[outside.id] == "failed"
    assert statuses[delivered.id] == "succeeded"
    assert len(httpserver.log) == 1


def test_ping_reaches_the_endpoint(httpserver, endpoint, owner, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hooks").respond_with_data("pong")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.webhook_ping(actor=owner, endpoint=endpoint)
    request = httpserver.log[0][0]
    body = json.loads(request.get_data())
    assert body["type"] == "ping"
    assert Webhook(endpoint.secret).verify(request.get_data(), dict(request.headers))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


# --- SSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://192.168.1.10/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_private_and_metadata_addresses_are_refused(organization, owner, url, settings):
    from apps.core.exceptions import ValidationError

    settings.WEBHOOK_ALLOW_HTTP_HOSTS = [
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "192.168.1.10",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ]
    with pytest.raises(ValidationError) as error:
        services.webhook_endpoint_create(actor=owner, organization=organization, url=url)
    assert "not allowed" in str(error.value.details["url"])


@pytest.mark.parametrize("url", ["http://10.0.0.1/hook", "http://169.254.169.254/", "http://[::1]:9/hook"])
def test_a_refused_address_is_never_contacted_at_send_time(endpoint, url, settings):
    # given: an endpoint row that points at a refused address (e.g. written before the rule)
    settings.WEBHOOK_ALLOW_HTTP_HOSTS = ["10.0.0.1", "169.254.169.254", "::1"]
    endpoint.url = url
    endpoint.save()
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    # when
    result = services.webhook_delivery_attempt(delivery_id=delivery.id)
    # then
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert result.outcome == "retry"
    assert attempt.status_code is None
    assert attempt.error.startswith("Refused")


def test_a_name_resolving_to_loopback_is_refused_unless_allowed(httpserver, endpoint, settings):
    # given: "localhost" resolves to 127.0.0.1 (and maybe ::1), and no address is allowed
    httpserver.expect_request("/hooks").respond_with_data("ok")
    settings.WEBHOOK_ALLOWED_ADDRESSES = []
    endpoint.url = f"http://localhost:{httpserver.port}/hooks"
    endpoint.save()
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    # when
    services.webhook_delivery_attempt(delivery_id=delivery.id)
    # then
    assert "resolves to a refused address" in WebhookAttempt.objects.get(delivery=delivery).error
    assert httpserver.log == []


def test_http_is_refused_outside_debug_and_the_allowed_hosts(organization, owner, settings):
    from apps.core.exceptions import ValidationError

    settings.WEBHOOK_ALLOW_HTTP_HOSTS = []
    with pytest.raises(ValidationError):
        services.webhook_endpoint_create(actor=owner, organization=organization, url="http://hooks.example.com/x")
    settings.DEBUG = True
    endpoint = services.webhook_endpoint_create(
        actor=owner, organization=organization, url="http://hooks.example.com/x"
    )
    assert endpoint.url == "http://hooks.example.com/x"
