"""Password change (signed in) and password reset (by email)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts.models import AccountToken, User, UserSession
from apps.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from apps.accounts.tests.helpers import (
    ME_URL,
    NEW_PASSWORD,
    PASSWORD_URL,
    RESET_CONFIRM_URL,
    RESET_URL,
    assert_error,
    bearer,
    link_token,
    login,
    login_tokens,
)
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def change(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD):
    return client.post(PASSWORD_URL, {"current_password": current, "new_password": new}, format="json")


def request_reset(api_client, email, capture):
    with capture(execute=True):
        response = api_client.post(RESET_URL, {"email": email}, format="json")
    return response


def reset_token_from_mail(settings_frontend: str = "http://localhost:8000") -> str:
    assert len(mail.outbox) == 1
    return link_token(mail.outbox[0], f"{settings_frontend}/reset-password")


# --- change ----------------------------------------------------------------------------------


def test_change_password_keeps_this_session_and_revokes_the_others(
    api_client, user, django_capture_on_commit_callbacks
):
    # given: two signed-in devices
    here = login_tokens(api_client, user.email)
    elsewhere = login_tokens(api_client, user.email)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = change(bearer(api_client, here["access"]))

    # then
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert bearer(api_client, here["access"]).get(ME_URL).status_code == 200
    assert bearer(api_client, elsewhere["access"]).get(ME_URL).status_code == 401
    assert UserSession.objects.get(revoked_at__isnull=False).revoked_reason == "password_changed"
    assert OutboxEvent.objects.get(event_type="auth.password_changed").payload["sessions_revoked"] == 1
    # the user is told, with a way back in
    assert [m.subject for m in mail.outbox] == ["Your password was changed"]
    assert "http://localhost:8000/forgot-password" in mail.outbox[0].body
    # and the new password signs in, the old one does not
    assert login(api_client, user.email, NEW_PASSWORD).status_code == 200
    assert login(api_client, user.email, DEFAULT_PASSWORD).status_code == 401


def test_change_password_with_wrong_current_password(api_client_for, user):
    error = assert_error(change(api_client_for(user), current="Wrong-password-1"), 400, "VALIDATION_ERROR")

    assert error["details"] == {"current_password": ["The current password is not correct."]}
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_change_password_reports_broken_rules_on_new_password(api_client_for, user):
    error = assert_error(change(api_client_for(user), new="short"), 400, "VALIDATION_ERROR")

    assert set(error["details"]) == {"new_password"}
    assert "This password must contain a digit." in error["details"]["new_password"]


def test_change_password_to_the_same_password_is_refused(api_client_for, user):
    error = assert_error(change(api_client_for(user), new=DEFAULT_PASSWORD), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"new_password"}


def test_change_password_requires_authentication(api_client):
    assert_error(change(api_client), 401, "UNAUTHORIZED")


# --- reset -----------------------------------------------------------------------------------


def test_password_reset_mails_a_link_to_an_active_user(api_client, user, django_capture_on_commit_callbacks, settings):
    # given
    settings.FRONTEND_URL = "https://app.olympus.test"

    # when
    response = request_reset(api_client, user.email.upper(), django_capture_on_commit_callbacks)

    # then
    assert response.status_code == 202
    assert response.content == b""
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your password"
    assert "expires in 60 minutes" in message.body
    token = reset_token_from_mail("https://app.olympus.test")
    stored = AccountToken.objects.get(user=user, purpose="password_reset")
    assert stored.token_hash != token  # only a hash is kept
    assert token not in stored.token_hash
    assert stored.expires_at - stored.created_at == timedelta(hours=1)


@pytest.mark.parametrize("status", [None, User.Status.SUSPENDED, User.Status.INACTIVE, User.Status.DELETED])
def test_password_reset_answers_202_and_mails_nothing_for_unknown_or_inactive(
    api_client, django_capture_on_commit_callbacks, status
):
    # given
    email = "ghost@example.com"
    if status is not None:
        UserFactory(email=email, status=status)

    # when
    response = request_reset(api_client, email, django_capture_on_commit_callbacks)

    # then: the same answer as for a real account, and no email
    assert response.status_code == 202
    assert mail.outbox == []
    assert not AccountToken.objects.exists()


def test_password_reset_with_malformed_email_is_validation_error(api_client):
    assert_error(api_client.post(RESET_URL, {"email": "nope"}, format="json"), 400, "VALIDATION_ERROR")


def test_reset_confirm_sets_password_kills_token_and_all_sessions(api_client, user, django_capture_on_commit_callbacks):
    # given
    sessions = [login_tokens(api_client, user.email) for _ in range(2)]
    request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    token = reset_token_from_mail()
    mail.outbox.clear()
    api_client.credentials()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": NEW_PASSWORD}, format="json")

    # then
    assert response.status_code == 204, response.content
    assert login(api_client, user.email, NEW_PASSWORD).status_code == 200
    for tokens in sessions:
        assert bearer(api_client, tokens["access"]).get(ME_URL).status_code == 401
    assert AccountToken.objects.get(user=user).used_at is not None
    assert OutboxEvent.objects.get(event_type="auth.password_reset").payload["sessions_revoked"] == 2
    assert [m.subject for m in mail.outbox] == ["Your password was changed"]
    # the token dies
    api_client.credentials()
    again = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": "Another-pass-77!"}, format="json")
    error = assert_error(again, 400, "VALIDATION_ERROR")
    assert error["details"] == {"token": ["This link is invalid or has expired."]}


def test_reset_confirm_verifies_an_unverified_email(api_client, unverified_user, django_capture_on_commit_callbacks):
    request_reset(api_client, unverified_user.email, django_capture_on_commit_callbacks)

    api_client.post(RESET_CONFIRM_URL, {"token": reset_token_from_mail(), "new_password": NEW_PASSWORD}, format="json")

    unverified_user.refresh_from_db()
    assert unverified_user.email_verified_at is not None


def test_reset_token_expires_after_an_hour(api_client, user, django_capture_on_commit_callbacks):
    request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    token = reset_token_from_mail()
    AccountToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": NEW_PASSWORD}, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_only_the_latest_reset_link_works(api_client, user, django_capture_on_commit_callbacks):
    request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    first = reset_token_from_mail()
    mail.outbox.clear()
    request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    second = reset_token_from_mail()

    stale = api_client.post(RESET_CONFIRM_URL, {"token": first, "new_password": NEW_PASSWORD}, format="json")
    fresh = api_client.post(RESET_CONFIRM_URL, {"token": second, "new_password": NEW_PASSWORD}, format="json")

    assert_error(stale, 400, "VALIDATION_ERROR")
    assert fresh.status_code == 204


def test_reset_confirm_with_weak_password_keeps_the_token_usable(api_client, user, django_capture_on_commit_callbacks):
    request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    token = reset_token_from_mail()

    weak = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": "weak"}, format="json")
    strong = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": NEW_PASSWORD}, format="json")

    error = assert_error(weak, 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"new_password"}
    assert strong.status_code == 204


def test_reset_token_of_a_user_suspended_since_is_refused(api_client, user, django_capture_on_commit_callbacks):
    request_reset(api_client, user.email, django_capture_on_commit_callbacks)
    token = reset_token_from_mail()
    User.objects.filter(id=user.id).update(status=User.Status.SUSPENDED, is_active=False)

    response = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": NEW_PASSWORD}, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("body", [{"token": "made-up", "new_password": NEW_PASSWORD}, {"new_password": NEW_PASSWORD}])
def test_reset_confirm_with_bad_or_missing_token(api_client, body):
    error = assert_error(api_client.post(RESET_CONFIRM_URL, body, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"token"}


def test_verification_token_cannot_reset_a_password(api_client, unverified_user, django_capture_on_commit_callbacks):
    from apps.accounts.services import account_token_issue

    token = account_token_issue(user=unverified_user, purpose=AccountToken.Purpose.EMAIL_VERIFICATION)

    response = api_client.post(RESET_CONFIRM_URL, {"token": token, "new_password": NEW_PASSWORD}, format="json")

    assert_error(response, 400, "VALIDATION_ERROR")
