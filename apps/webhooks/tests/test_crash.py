"""A webhook send cut off by a crash: the attempt was recorded before the request went out
and shows as interrupted, not missing (a real process killed mid-request)."""

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from werkzeug import Response

from apps.webhooks import services
from apps.webhooks.models import WebhookAttempt, WebhookDelivery
from apps.webhooks.tests.factories import WebhookDeliveryFactory

BASE_DIR = Path(__file__).resolve().parents[3]

SENDER = """
import sys
import django
django.setup()
from django.conf import settings
settings.WEBHOOK_TIMEOUT_SECONDS = 60  # the receiver holds the request: this process is killed first
from apps.webhooks import services
services.webhook_delivery_attempt(delivery_id=sys.argv[1])
"""


def sender_env() -> dict[str, str]:
    env = dict(os.environ)
    url = urlsplit(settings.DATABASE_URL)
    env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))
    env["DJANGO_SETTINGS_MODULE"] = "olympus.settings.test"
    return env


@pytest.mark.django_db(transaction=True)
def test_a_send_cut_off_by_a_crash_leaves_an_interrupted_attempt(httpserver, endpoint):
    # given: a receiver that holds the first request, and answers the next one
    arrived, release = threading.Event(), threading.Event()

    def hold(request):
        arrived.set()
        release.wait(60)
        return Response("too late")

    httpserver.expect_ordered_request("/hooks").respond_with_handler(hold)
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    sender = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", SENDER, str(delivery.id)], cwd=BASE_DIR, env=sender_env()
    )
    try:
        assert arrived.wait(60), "the sender never reached the receiver"
        # then: while the request is out, its attempt is already on record
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert (attempt.state, attempt.finished_at) == (WebhookAttempt.State.SENDING, None)
        # when: the sending process dies mid-request (kill -9)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
    finally:
        release.set()
        if sender.poll() is None:
            sender.kill()
    # and the lease runs out, so the delivery is tried again
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    result = services.webhook_delivery_attempt(delivery_id=delivery.id)

    # then: the cut-off attempt is closed as interrupted, the retry succeeded, both are counted
    assert result.outcome == "succeeded"
    rows = list(delivery.attempt_log.order_by("id").values_list("state", "succeeded", "error"))
    assert rows == [
        (WebhookAttempt.State.INTERRUPTED, False, services.INTERRUPTED_ERROR),
        (WebhookAttempt.State.FINISHED, True, ""),
    ]
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status) == (2, WebhookDelivery.Status.SUCCEEDED)


BATCH_SENDER = """
import sys
import django
django.setup()
from django.conf import settings
settings.WEBHOOK_TIMEOUT_SECONDS = 60  # the receiver holds the second request: this process is killed first
from apps.webhooks import services
services.webhook_deliveries_send(endpoint_id=sys.argv[1])
"""


@pytest.mark.django_db(transaction=True)
def test_a_batch_cut_off_by_a_crash_leaves_one_interrupted_attempt(httpserver, endpoint):
    # given: three due deliveries; the receiver answers the first and holds the second
    arrived, release = threading.Event(), threading.Event()

    def hold(request):
        arrived.set()
        release.wait(60)
        return Response("too late")

    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    httpserver.expect_ordered_request("/hooks").respond_with_handler(hold)
    now = timezone.now()
    first, second, third = (
        WebhookDeliveryFactory(endpoint=endpoint, created_at=now - timedelta(seconds=3 - n)) for n in range(3)
    )
    sender = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", BATCH_SENDER, str(endpoint.id)], cwd=BASE_DIR, env=sender_env()
    )
    try:
        assert arrived.wait(60), "the sender never reached the receiver"
        # when: the batch's process dies during its second request (kill -9)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
    finally:
        release.set()
        if sender.poll() is None:
            sender.kill()

    # then: the first is delivered, the second has its attempt on record, the third was never attempted
    states = {
        d.pk: (d.status, d.attempts, list(d.attempt_log.values_list("state", flat=True)))
        for d in WebhookDelivery.objects.filter(endpoint=endpoint)
    }
    assert states == {
        first.pk: ("succeeded", 1, [WebhookAttempt.State.FINISHED]),
        second.pk: ("pending", 1, [WebhookAttempt.State.SENDING]),
        third.pk: ("pending", 0, []),
    }
    # and when the lease runs out, the next batch closes the cut-off attempt and sends both
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    WebhookDelivery.objects.filter(pk__in=[second.pk, third.pk]).update(next_attempt_at=timezone.now())
    results = services.webhook_deliveries_send(endpoint_id=endpoint.id)
    assert [r.delivery_id for r in results] == [second.pk, third.pk]
    assert list(second.attempt_log.order_by("id").values_list("state", flat=True)) == [
        WebhookAttempt.State.INTERRUPTED,
        WebhookAttempt.State.FINISHED,
    ]
    assert [request.headers["webhook-id"] for request, _ in httpserver.log] == [
        str(first.pk),
        str(second.pk),
        str(second.pk),
        str(third.pk),
    ]
