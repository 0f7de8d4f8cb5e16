"""Service rules that need no HTTP: status changes, database invariants, races, purge, email retries."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts import services, tasks
from apps.accounts.errors import AuthenticationFailed
from apps.accounts.models import AccountToken, User, UserSession
from apps.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from apps.core.exceptions import Conflict, ValidationError

CLIENT = services.ClientInfo(ip="127.0.0.1", user_agent="pytest")


# --- database invariants -------------------------------------------------------------------------


@pytest.mark.django_db
def test_database_refuses_a_second_user_with_the_same_email_in_another_case():
    UserFactory(email="same@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="SAME@example.com")])


@pytest.mark.django_db
def test_database_refuses_is_active_that_contradicts_status(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(id=user.id).update(status=User.Status.SUSPENDED)


@pytest.mark.django_db
def test_manager_create_user_stores_lowercase_email():
    created = User.objects.create_user("Mixed.Case@Example.COM", DEFAULT_PASSWORD)

    assert created.email == "mixed.case@example.com"
    assert created.status == User.Status.ACTIVE


# --- suspension --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_suspend_ends_sessions_and_sign_in(staff_user, user):
    services.session_start(user=user, client=CLIENT)

    services.user_suspend(user=user, actor=staff_user)

    user.refresh_from_db()
    assert (user.status, user.is_active) == (User.Status.SUSPENDED, False)
    assert not UserSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    with pytest.raises(AuthenticationFailed):
        services.auth_login(email=user.email, password=DEFAULT_PASSWORD, client=CLIENT)


@pytest.mark.django_db
def test_suspending_twice_publishes_one_event(staff_user, user):
    from apps.core.models import OutboxEvent

    services.user_suspend(user=user, actor=staff_user)
    services.user_suspend(user=user, actor=staff_user)

    assert OutboxEvent.objects.filter(event_type="user.suspended").count() == 1


@pytest.mark.django_db
def test_deleted_user_cannot_be_suspended_or_reactivated(staff_user):
    deleted = UserFactory(status=User.Status.DELETED)

    with pytest.raises(Conflict):
        services.user_suspend(user=deleted, actor=staff_user)
    with pytest.raises(Conflict):
        services.user_reactivate(user=deleted, actor=staff_user)


@pytest.mark.django_db
def test_reactivated_user_can_sign_in_again(staff_user, user):
    services.user_suspend(user=user, actor=staff_user)

    services.user_reactivate(user=user, actor=staff_user)

    assert services.auth_login(email=user.email, password=DEFAULT_PASSWORD, client=CLIENT).user == user


@pytest.mark.django_db
def test_session_start_refuses_inactive_user():
    with pytest.raises(Conflict):
        services.session_start(user=UserFactory(status=User.Status.INACTIVE), client=CLIENT)


@pytest.mark.django_db
def test_profile_service_refuses_non_profile_fields(user):
    with pytest.raises(ValidationError) as excinfo:
        services.user_update_profile(user=user, data={"email": "x@example.com", "is_staff": True})

    assert set(excinfo.value.details) == {"email", "is_staff"}


# --- purge -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_purge_drops_only_sessions_and_tokens_dead_past_retention(user):
    # given
    now = timezone.now()
    old = now - timedelta(days=31)
    live = services.session_start(user=user, client=CLIENT).session
    recent_revoked = services.session_start(user=user, client=CLIENT).session
    old_revoked = services.session_start(user=user, client=CLIENT).session
    UserSession.objects.filter(id=recent_revoked.id).update(revoked_at=now, revoked_reason="logout")
    UserSession.objects.filter(id=old_revoked.id).update(revoked_at=old, revoked_reason="logout")
    services.account_token_issue(user=user, purpose=AccountToken.Purpose.PASSWORD_RESET)
    AccountToken.objects.update(expires_at=old)
    fresh = services.account_token_issue(user=user, purpose=AccountToken.Purpose.EMAIL_VERIFICATION)

    # when
    counts = tasks.accounts_purge()

    # then
    assert counts == {"sessions": 1, "tokens": 1}
    assert set(UserSession.objects.values_list("id", flat=True)) == {live.id, recent_revoked.id}
    assert AccountToken.objects.get().purpose == AccountToken.Purpose.EMAIL_VERIFICATION
    assert fresh


# --- emails -----------------------------------------------------------------------------------------


class FlakyEmailBackend(EmailBackend):
    """Fails the first delivery like an SMTP server that is briefly down."""

    failures_left = 1

    def send_messages(self, messages):
        if FlakyEmailBackend.failures_left:
            FlakyEmailBackend.failures_left -= 1
            raise ConnectionRefusedError("smtp down")
        return super().send_messages(messages)


@pytest.mark.django_db
def test_email_task_retries_with_backoff_when_sending_fails(user, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyEmailBackend"
    FlakyEmailBackend.failures_left = 1

    result = tasks.send_password_reset_email.apply(args=[str(user.id)], throw=False)

    assert result.get() is True
    assert [m.subject for m in mail.outbox] == ["Reset your password"]
    # the token of the failed attempt was replaced: only the mailed one is valid
    assert AccountToken.objects.filter(user=user).count() == 1
    assert tasks.send_password_reset_email.autoretry_for == (OSError,)
    assert tasks.send_password_reset_email.retry_backoff is True


def test_email_tasks_go_to_the_emails_queue():
    from olympus.celery import app

    for task in (tasks.send_verification_email, tasks.send_password_reset_email, tasks.send_password_changed_email):
        assert app.amqp.router.route({}, task.name)["queue"].name == "emails"


# --- races (real parallel transactions) --------------------------------------------------------


def _in_parallel(*calls):
    """Run the calls at the same time, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_use_of_one_refresh_token_never_yields_two_live_tokens():
    # given
    user = UserFactory()
    refresh = services.auth_login(email=user.email, password=DEFAULT_PASSWORD, client=CLIENT).tokens.refresh

    # when: the same token is exchanged twice at the same moment
    outcomes = _in_parallel(
        lambda: services.auth_refresh(refresh=refresh, client=CLIENT),
        lambda: services.auth_refresh(refresh=refresh, client=CLIENT),
    )

    # then: one exchange wins, the other is treated as reuse and the session ends
    assert sorted(type(o).__name__ for o in outcomes) == ["AuthenticationFailed", "TokenPair"]
    session = UserSession.objects.get()
    assert session.revoked_reason == UserSession.RevokeReason.REFRESH_REUSE


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_email_create_one_user():
    def register():
        return services.user_register(email="race@example.com", password=DEFAULT_PASSWORD, full_name="Race")

    outcomes = _in_parallel(register, register, register)

    # then: one user; the others were told nothing different (their attempt is mailed to the owner)
    assert sum(isinstance(o, User) for o in outcomes) == 1
    assert [o for o in outcomes if not isinstance(o, User)] == [None, None]
    assert User.objects.filter(email="race@example.com").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, (User.Status.ACTIVE, True)),
        ({"is_active": False}, (User.Status.INACTIVE, False)),
        ({"status": User.Status.SUSPENDED}, (User.Status.SUSPENDED, False)),
    ],
)
def test_user_factory_keeps_status_and_is_active_in_step(kwargs, expected):
    created = UserFactory(**kwargs)
    assert (created.status, created.is_active) == expected
