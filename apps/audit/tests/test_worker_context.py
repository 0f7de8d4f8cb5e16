"""End to end: a task published during an API request, run by a real Celery worker, audits as that request."""

import uuid

import pytest
from celery import shared_task
from celery.contrib.testing.worker import start_worker

from apps.audit import services
from apps.audit.models import AuditLog

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@shared_task(name="apps.audit.tests.record_from_task")
def record_from_task(marker: str) -> str:
    return str(services.record(action="test.task_recorded", resource_type="test", resource_id=marker).pk)


def test_task_started_by_a_request_records_the_requests_context(user, settings, rf):
    from apps.audit import context
    from olympus.celery import app

    queue = f"test-audit-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex[:16]
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", queues=[queue], perform_ping_check=False, shutdown_timeout=10):
            # given a request context (as the middleware binds it) when the task is published
            with context.audit_context(actor_id=str(user.pk), ip="203.0.113.5", user_agent="e2e", request_id="e2e-1"):
                result = record_from_task.apply_async(args=[marker], queue=queue)
            # then the worker thread, with a context of its own, records the request's context
            entry_id = result.get(timeout=20)
    finally:
        app.conf.task_always_eager = True

    entry = AuditLog.objects.get(pk=entry_id)
    assert entry.resource_id == marker
    assert (entry.actor_id, entry.ip, entry.user_agent, entry.request_id) == (user.pk, "203.0.113.5", "e2e", "e2e-1")
