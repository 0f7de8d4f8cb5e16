"""Every task that fails for good becomes a FailedTask, visible in the admin and retried from there."""

import pytest
from celery import shared_task
from django.core.cache import cache
from django.urls import reverse

from apps.jobs.models import FailedTask

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _retries_as_in_a_worker():
    """Eager tasks that propagate errors skip retries: let them retry and fail like a worker's."""
    from olympus.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


FAILURES_LEFT = "jobs-test:failures-left"


@shared_task(
    name="apps.jobs.tests.test_dead_letters.flaky",
    autoretry_for=(RuntimeError,),
    retry_backoff=False,
    default_retry_delay=0,
)
def flaky(order_id: str, *, note: str = "") -> str:
    """Fails while the counter in the cache says so."""
    if cache.decr(FAILURES_LEFT) >= 0:
        raise RuntimeError(f"payment provider down for {order_id}")
    return "ok"


@shared_task(name="apps.jobs.tests.test_dead_letters.steady", autoretry_for=(RuntimeError,))
def steady() -> str:
    return "ok"


def run(task, *args, **kwargs):
    result = task.apply(args=args, kwargs=kwargs)
    assert result.failed()


def test_a_task_that_exhausts_its_retries_is_dead_lettered_with_its_arguments():
    # given: a task that keeps failing (max_retries comes from the project-wide annotations)
    cache.set(FAILURES_LEFT, 100)
    # when
    run(flaky, "order-1", note="x")
    # then
    failed = FailedTask.objects.get(task_name="apps.jobs.tests.test_dead_letters.flaky")
    assert failed.args == ["order-1"]
    assert failed.kwargs == {"note": "x"}
    assert failed.attempts == flaky.max_retries + 1
    assert failed.exception == "RuntimeError: payment provider down for order-1"
    assert "Traceback" in failed.traceback
    assert failed.first_failed_at <= failed.last_failed_at
    assert failed.status == FailedTask.Status.FAILED


def test_a_task_that_succeeds_after_retries_leaves_no_dead_letter():
    cache.set(FAILURES_LEFT, 1)
    assert flaky.apply(args=["order-2"]).get() == "ok"
    steady.apply()
    assert not FailedTask.objects.exists()


def test_admin_retry_sends_the_task_again(client, staff_user, django_capture_on_commit_callbacks):
    # given: a dead letter whose cause is gone
    cache.set(FAILURES_LEFT, flaky.max_retries + 1)
    run(flaky, "order-3")
    failed = FailedTask.objects.get()
    client.force_login(staff_user)
    changelist = reverse("admin:jobs_failedtask_changelist")
    assert "payment provider down" in client.get(changelist).content.decode()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "retry", "_selected_action": [failed.pk]})
    # then: sent again with the same arguments, and it succeeded this time
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == FailedTask.Status.RETRIED
    assert failed.retried_task_id
    assert cache.get(FAILURES_LEFT) == -1  # the retried run consumed one more
    assert FailedTask.objects.count() == 1


@pytest.mark.parametrize("count", [1, 5])
def test_failed_task_changelist_query_count_is_constant(client, staff_user, count, django_assert_num_queries):
    for n in range(count):
        FailedTask.objects.create(task_id=f"t{n}", task_name="x", exception="E: boom")
    client.force_login(staff_user)
    with django_assert_num_queries(7):
        assert client.get(reverse("admin:jobs_failedtask_changelist")).status_code == 200
