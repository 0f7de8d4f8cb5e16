"""The nightly cleanup removes what is past retention, keeps the rest, and finds nothing the second time."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.core.models import IdempotencyKey, OutboxEvent
from apps.jobs import tasks
from apps.jobs.models import FailedTask
from apps.organizations.models import Invitation
from apps.organizations.tests.factories import InvitationFactory
from apps.webhooks.models import WebhookAttempt
from apps.webhooks.tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def test_cleanup_removes_what_is_past_retention_once(organization, user):
    # given: one row past retention and one fresh row of each kind
    now = timezone.now()
    long_ago = now - timedelta(days=400)
    for expire in (now - timedelta(days=1), now + timedelta(days=1)):
        store = SessionStore()
        store.create()
        Session.objects.filter(session_key=store.session_key).update(expire_date=expire)
    OutstandingToken.objects.create(user=user, jti="old", token="t1", expires_at=now - timedelta(days=1))
    OutstandingToken.objects.create(user=user, jti="new", token="t2", expires_at=now + timedelta(days=1))
    for key, expires in (("old", now - timedelta(hours=1)), ("new", now + timedelta(hours=1))):
        IdempotencyKey.objects.create(user=user, key=key, endpoint="orders", request_hash="h", expires_at=expires)
    OutboxEvent.objects.create(event_type="x", status="dispatched", dispatched_at=long_ago)
    OutboxEvent.objects.create(event_type="x", status="dispatched", dispatched_at=now)
    FailedTask.objects.create(task_id="a", task_name="t", exception="E", status="retried", retried_at=long_ago)
    FailedTask.objects.create(task_id="b", task_name="t", exception="E", status="failed", last_failed_at=long_ago)
    expired = InvitationFactory(organization=organization, expires_at=long_ago)
    pending = InvitationFactory(organization=organization)
    delivered = WebhookDeliveryFactory(status="succeeded")
    dead = WebhookDeliveryFactory(status="failed")
    for delivery in (delivered, dead):
        WebhookAttempt.objects.create(delivery=delivery, url="https://x", created_at=long_ago)
    fresh_attempt = WebhookAttempt.objects.create(delivery=delivered, url="https://x", created_at=now)
    gone = ProductFactory(organization=organization, deleted_at=long_ago)
    recently_deleted = ProductFactory(organization=organization, deleted_at=now - timedelta(days=1))

    # when
    report = tasks.cleanup.delay().result

    # then
    assert report == {
        "auth.expired_tokens": 1,
        "catalog.soft_deleted_products": 1,
        "core.dispatched_outbox_events": 1,
        "core.expired_idempotency_keys": 1,
        "jobs.retried_dead_letters": 1,
        "organizations.dead_invitations": 1,
        "sessions.expired": 1,
        "webhooks.delivered_attempts": 1,
    }
    assert Session.objects.count() == 1
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["new"]
    assert OutboxEvent.objects.filter(event_type="x").count() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert list(FailedTask.objects.values_list("task_id", flat=True)) == ["b"]  # unresolved dead letters stay
    assert list(Invitation.objects.values_list("id", flat=True)) == [pending.id]
    assert not Invitation.objects.filter(id=expired.id).exists()
    assert set(WebhookAttempt.objects.values_list("id", flat=True)) == {
        fresh_attempt.id,
        dead.attempt_log.get().id,
    }
    assert not Product.objects.filter(id=gone.id).exists()
    assert Product.objects.filter(id=recently_deleted.id).exists()
    # idempotent: nothing left to do
    assert set(tasks.cleanup.delay().result.values()) == {0}
