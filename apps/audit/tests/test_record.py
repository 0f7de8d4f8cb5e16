"""record(): changed fields only, secrets redacted, context from the request or explicit."""

import contextvars
import uuid

import pytest

from apps.audit import celery_context, context, services
from apps.audit.models import AuditLog

pytestmark = pytest.mark.django_db


def test_only_changed_fields_are_kept_nested_too():
    entry = services.record(
        action="thing.updated",
        resource_type="thing",
        resource_id="1",
        old_values={"name": "a", "size": 1, "settings": {"currency": "USD", "timezone": "UTC"}},
        new_values={"name": "b", "size": 1, "settings": {"currency": "EUR", "timezone": "UTC"}},
    )

    assert entry.old_values == {"name": "a", "settings": {"currency": "USD"}}
    assert entry.new_values == {"name": "b", "settings": {"currency": "EUR"}}


def test_secrets_are_never_stored():
    entry = services.record(
        action="user.updated",
        resource_type="user",
        old_values={"password": "old-hash", "email": "a@example.com"},
        new_values={"password": "new-hash", "email": "b@example.com", "api_key": "sk_live_123"},
    )

    stored = AuditLog.objects.get(pk=entry.pk)
    assert stored.old_values["password"] == stored.new_values["password"] == "[REDACTED]"
    assert stored.new_values["api_key"] == "[REDACTED]"
    assert "old-hash" not in str(stored.old_values)
    assert stored.new_values["email"] == "b@example.com"


def test_uuid_and_datetime_values_are_stored_as_json():
    from django.utils import timezone

    value = uuid.uuid4()
    now = timezone.now()
    entry = services.record(action="x.created", resource_type="x", new_values={"id": value, "at": now})

    stored = AuditLog.objects.get(pk=entry.pk)
    assert stored.new_values["id"] == str(value)
    assert stored.new_values["at"].startswith(now.strftime("%Y-%m-%dT%H:%M"))


def test_context_fills_actor_ip_agent_and_request_id(user):
    with context.audit_context(actor_id=str(user.pk), ip="10.1.2.3", user_agent="cli/1", request_id="req-1"):
        entry = services.record(action="x.y", resource_type="x")

    assert (entry.actor_id, entry.ip, entry.user_agent, entry.request_id) == (user.pk, "10.1.2.3", "cli/1", "req-1")


def test_explicit_values_win_over_the_context(user):
    with context.audit_context(actor_id=str(uuid.uuid4()), ip="10.0.0.1"):
        entry = services.record(action="x.y", resource_type="x", actor=user, ip="192.0.2.1")

    assert entry.actor_id == user.pk
    assert entry.ip == "192.0.2.1"


def test_no_context_means_a_system_entry():
    entry = services.record(action="system.ran", resource_type="system")

    assert entry.actor_id is None
    assert entry.ip is None
    assert entry.user_agent == ""


def test_forwarded_for_is_used_only_behind_configured_proxies(settings, rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.2", REMOTE_ADDR="10.0.0.3")

    settings.NUM_PROXIES = 0
    assert context.client_ip(request) == "10.0.0.3"
    settings.NUM_PROXIES = 1
    assert context.client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 2
    assert context.client_ip(request) == "203.0.113.9"


class FakeRequest(dict):
    """Celery's task.request answers .get() for message headers."""


class FakeTask:
    def __init__(self, headers):
        self.request = FakeRequest(headers)


def test_context_travels_to_a_task_through_the_message_header(user):
    # given a request context when a task is published
    headers: dict = {}
    with context.audit_context(actor_id=str(user.pk), ip="198.51.100.7", user_agent="browser", request_id="r-42"):
        celery_context.attach_context(headers=headers)
    assert headers[celery_context.HEADER]["actor_id"] == str(user.pk)

    # when the worker (an empty context) runs the task
    def run_task():
        assert context.current().is_empty
        celery_context.bind_context(task_id="t-1", task=FakeTask(headers))
        entry = services.record(action="task.did", resource_type="x")
        celery_context.unbind_context(task_id="t-1")
        return entry, context.current()

    entry, after = contextvars.Context().run(run_task)

    # then the audit row names the request's user, IP, agent and request id
    assert (entry.actor_id, entry.ip, entry.user_agent, entry.request_id) == (
        user.pk,
        "198.51.100.7",
        "browser",
        "r-42",
    )
    assert after.is_empty


def test_nothing_is_attached_outside_a_request():
    headers: dict = {}

    contextvars.Context().run(celery_context.attach_context, headers=headers)

    assert celery_context.HEADER not in headers
