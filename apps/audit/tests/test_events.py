"""The accounts app's auth.* events become audit rows (organization: none), once each."""

import pytest

from apps.audit.events import AUTH_EVENTS
from apps.audit.models import AuditLog
from apps.core import events
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def publish(event_type, **payload):
    return events.publish_event(event_type=event_type, payload=payload)


@pytest.mark.parametrize("event_type", AUTH_EVENTS)
def test_auth_event_is_audited(event_type, user, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        event = publish(event_type, user_id=str(user.pk), ip="198.51.100.1", user_agent="Firefox")

    # then
    entry = AuditLog.objects.get(event_id=event.pk)
    assert entry.action == event_type
    assert entry.organization_id is None
    assert entry.actor_id == user.pk
    assert entry.resource_type == "user"
    assert entry.resource_id == str(user.pk)
    assert (entry.ip, entry.user_agent) == ("198.51.100.1", "Firefox")
    assert entry.created_at == event.created_at


def test_failed_login_for_an_unknown_user_is_audited_without_secrets(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = publish("auth.login_failed", user_id=None, ip="192.0.2.9", email="who@example.com", password="guess")

    entry = AuditLog.objects.get(event_id=event.pk)
    assert entry.actor_id is None
    assert entry.new_values == {"email": "who@example.com", "password": "[REDACTED]"}


def test_a_redelivered_event_is_recorded_once(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = publish("auth.login", user_id=str(user.pk), ip="192.0.2.1", user_agent="x")

    # the outbox delivers at least once: replay the same event
    OutboxEvent.objects.filter(pk=event.pk).update(status=OutboxEvent.Status.PENDING)
    assert events.outbox_dispatch(event_id=event.pk)

    assert AuditLog.objects.filter(event_id=event.pk).count() == 1


def test_suspending_and_reactivating_a_user_is_audited_with_the_staff_actor(
    user, staff_user, django_capture_on_commit_callbacks
):
    from apps.accounts import services as account_services

    # when
    with django_capture_on_commit_callbacks(execute=True):
        account_services.user_suspend(user=user, actor=staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        account_services.user_reactivate(user=user, actor=staff_user)

    # then
    entries = AuditLog.objects.filter(resource_id=str(user.pk), action__startswith="user.").order_by("created_at")
    assert [(e.action, e.actor_id) for e in entries] == [
        ("user.suspended", staff_user.pk),
        ("user.reactivated", staff_user.pk),
    ]
