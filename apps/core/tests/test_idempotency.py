"""Idempotency-Key: the first response is stored with the work and replayed; other bodies are refused."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.core.exceptions import Conflict, IdempotencyKeyReused
from apps.core.idempotency import idempotency_keys_purge, idempotent_call, request_fingerprint
from apps.core.models import IdempotencyKey, OutboxEvent

ENDPOINT = "POST /api/v1/things/"


class Work:
    """A unit of work that writes a row and answers 201; counts its runs."""

    def __init__(self, *, fail_with: Exception | None = None, pause: float = 0.0):
        self.runs = 0
        self.fail_with = fail_with
        self.pause = pause

    def __call__(self):
        self.runs += 1
        event = OutboxEvent.objects.create(event_type="test.idempotent", payload={"run": self.runs})
        if self.pause:
            time.sleep(self.pause)
        if self.fail_with is not None:
            raise self.fail_with
        return 201, {"id": str(event.id), "run": self.runs}


def call(user, work, *, key="key-1", body=None, endpoint=ENDPOINT):
    return idempotent_call(user_id=user.pk, key=key, endpoint=endpoint, body=body or {"a": 1}, call=work)


@pytest.mark.django_db
def test_first_call_runs_and_stores_the_response(user):
    work = Work()

    result = call(user, work)

    assert (result.status, result.replayed, work.runs) == (201, False, 1)
    row = IdempotencyKey.objects.get(user=user, key="key-1", endpoint=ENDPOINT)
    assert row.response_status == 201
    assert json.loads(row.response_body) == result.body
    assert row.request_hash == request_fingerprint({"a": 1})
    assert timedelta(hours=23) < row.expires_at - timezone.now() <= timedelta(hours=24)


@pytest.mark.django_db
def test_same_key_and_body_replays_the_first_response_without_running_again(user):
    # given
    work = Work()
    first = call(user, work, body={"a": 1, "b": [1, 2]})
    # when: same body, keys in another order
    again = call(user, work, body={"b": [1, 2], "a": 1})
    # then
    assert work.runs == 1
    assert again.replayed is True
    assert (again.status, again.body) == (first.status, first.body)
    assert OutboxEvent.objects.filter(event_type="test.idempotent").count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_refused(user):
    work = Work()
    call(user, work, body={"a": 1})

    with pytest.raises(IdempotencyKeyReused) as error:
        call(user, work, body={"a": 2})

    assert error.value.http_status == 422
    assert work.runs == 1


@pytest.mark.django_db
def test_keys_are_scoped_by_user_and_endpoint(user):
    work = Work()
    other = UserFactory()

    call(user, work)
    call(other, work)
    call(user, work, endpoint="POST /api/v1/checkout/")

    assert work.runs == 3


@pytest.mark.django_db
def test_client_errors_are_stored_and_replayed_and_their_writes_roll_back(user):
    # given: the work writes a row, then a business rule says no
    work = Work(fail_with=Conflict("Sold out.", details={"left": 0}))
    # when
    first = call(user, work)
    again = call(user, work)
    # then
    assert first.status == 409
    assert first.body["error"]["code"] == "CONFLICT"
    assert first.body["error"]["details"] == {"left": 0}
    assert (again.replayed, again.status, again.body) == (True, 409, first.body)
    assert work.runs == 1
    assert not OutboxEvent.objects.filter(event_type="test.idempotent").exists()


@pytest.mark.django_db
def test_server_errors_are_not_stored_so_a_retry_runs_again(user):
    failing = Work(fail_with=RuntimeError("database hiccup"))
    with pytest.raises(RuntimeError):
        call(user, failing)
    assert not IdempotencyKey.objects.exists()

    retry = Work()
    result = call(user, retry)

    assert (result.status, result.replayed, retry.runs) == (201, False, 1)


@pytest.mark.django_db
def test_an_expired_key_runs_again_even_with_another_body(user):
    work = Work()
    call(user, work, body={"a": 1})
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    result = call(user, work, body={"a": 2})

    assert (result.replayed, work.runs) == (False, 2)
    assert IdempotencyKey.objects.get().request_hash == request_fingerprint({"a": 2})


@pytest.mark.django_db
def test_purge_deletes_only_expired_keys(user):
    call(user, Work(), key="old")
    call(user, Work(), key="fresh")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(minutes=1))

    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_run_the_work_once():
    # given: four requests with one key start together; the work takes a while
    user = UserFactory()
    work = Work(pause=0.3)
    start = threading.Barrier(4)
    results, errors = [], []

    def request():
        try:
            start.wait()
            results.append(call(user, work))
        except Exception as exc:  # surfaced by the assertions below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then: one run, one stored response, three replays of it
    assert errors == []
    assert work.runs == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert len({(r.status, r.body["id"]) for r in results}) == 1
    assert OutboxEvent.objects.filter(event_type="test.idempotent").count() == 1
