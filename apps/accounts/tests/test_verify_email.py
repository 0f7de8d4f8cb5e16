from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts.models import AccountToken
from apps.accounts.tests.helpers import VERIFY_RESEND_URL, VERIFY_URL, assert_error, link_token
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

PREFIX = "http://localhost:8000/verify-email"


def resend(client, capture):
    with capture(execute=True):
        return client.post(VERIFY_RESEND_URL)


def test_verify_email_sets_verified_at_and_the_token_dies(
    api_client, api_client_for, unverified_user, django_capture_on_commit_callbacks
):
    # given
    resend(api_client_for(unverified_user), django_capture_on_commit_callbacks)
    token = link_token(mail.outbox[0], PREFIX)

    # when
    response = api_client.post(VERIFY_URL, {"token": token}, format="json")

    # then
    assert response.status_code == 204
    unverified_user.refresh_from_db()
    assert unverified_user.email_verified_at is not None
    assert OutboxEvent.objects.filter(event_type="user.email_verified").count() == 1
    error = assert_error(api_client.post(VERIFY_URL, {"token": token}, format="json"), 400, "VALIDATION_ERROR")
    assert error["details"] == {"token": ["This link is invalid or has expired."]}


def test_verification_email_content(api_client_for, unverified_user, django_capture_on_commit_callbacks):
    response = resend(api_client_for(unverified_user), django_capture_on_commit_callbacks)

    assert response.status_code == 202
    message = mail.outbox[0]
    assert message.to == [unverified_user.email]
    assert message.from_email == "Olympus <no-reply@olympus.local>"
    assert unverified_user.email in message.body
    html = message.alternatives[0][0]
    assert "Confirm my email" in html
    assert link_token(message, PREFIX)


def test_expired_verification_token_is_refused(
    api_client, api_client_for, unverified_user, django_capture_on_commit_callbacks
):
    resend(api_client_for(unverified_user), django_capture_on_commit_callbacks)
    token = link_token(mail.outbox[0], PREFIX)
    AccountToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(api_client.post(VERIFY_URL, {"token": token}, format="json"), 400, "VALIDATION_ERROR")
    unverified_user.refresh_from_db()
    assert unverified_user.email_verified_at is None


def test_resend_makes_the_previous_link_stop_working(
    api_client, api_client_for, unverified_user, django_capture_on_commit_callbacks
):
    client = api_client_for(unverified_user)
    resend(client, django_capture_on_commit_callbacks)
    resend(client, django_capture_on_commit_callbacks)
    first, second = (link_token(message, PREFIX) for message in mail.outbox)

    assert_error(api_client.post(VERIFY_URL, {"token": first}, format="json"), 400, "VALIDATION_ERROR")
    assert api_client.post(VERIFY_URL, {"token": second}, format="json").status_code == 204


def test_resend_when_already_verified_is_conflict(api_client_for, user):
    assert_error(api_client_for(user).post(VERIFY_RESEND_URL), 409, "CONFLICT")


def test_resend_requires_authentication(api_client):
    assert_error(api_client.post(VERIFY_RESEND_URL), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "made-up"}])
def test_verify_email_with_bad_token(api_client, body):
    error = assert_error(api_client.post(VERIFY_URL, body, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"token"}


def test_verification_email_is_not_sent_once_verified(unverified_user):
    from apps.accounts import tasks

    unverified_user.email_verified_at = timezone.now()
    unverified_user.save()

    assert tasks.send_verification_email(str(unverified_user.id)) is False
    assert mail.outbox == []
