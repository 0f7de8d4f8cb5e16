import pytest
from django.core import mail

from apps.accounts.models import User
from apps.accounts.services import REGISTRATION_ACCEPTED
from apps.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from apps.accounts.tests.helpers import REGISTER_URL, VERIFY_URL, assert_error, link_token

pytestmark = pytest.mark.django_db


def register(client, **overrides):
    body = {"email": "New.Person@Example.com", "password": DEFAULT_PASSWORD, "full_name": "New Person", **overrides}
    return client.post(REGISTER_URL, body, format="json")


def test_register_creates_active_unverified_user_with_lowercased_email(api_client, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = register(api_client)

    # then: the answer names nobody (the same for a taken address)
    assert response.status_code == 202, response.content
    assert response.json() == {"detail": REGISTRATION_ACCEPTED}
    user = User.objects.get(email="new.person@example.com")
    assert user.full_name == "New Person"
    assert user.status == User.Status.ACTIVE
    assert user.email_verified_at is None
    assert user.check_password(DEFAULT_PASSWORD)
    assert user.is_active


def test_register_sends_verification_email_whose_link_verifies(
    api_client, django_capture_on_commit_callbacks, settings
):
    # given
    settings.FRONTEND_URL = "https://app.olympus.test"

    # when
    with django_capture_on_commit_callbacks(execute=True):
        register(api_client)

    # then
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert message.subject == "Confirm your email address"
    assert "Hello New Person" in message.body
    assert "expires in 48 hours" in message.body
    assert message.alternatives[0][1] == "text/html"
    token = link_token(message, "https://app.olympus.test/verify-email")
    assert api_client.post(VERIFY_URL, {"token": token}, format="json").status_code == 204
    assert User.objects.get(email="new.person@example.com").email_verified_at is not None


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", " Taken@Example.COM "])
def test_register_with_a_taken_email_answers_as_for_a_new_one_and_tells_the_owner(
    api_client, email, django_capture_on_commit_callbacks
):
    # given
    UserFactory(email="taken@example.com", full_name="Owner")
    with django_capture_on_commit_callbacks(execute=True):
        fresh = register(api_client, email="fresh@example.com")
    mail.outbox.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = register(api_client, email=email)

    # then: byte for byte the answer a new address gets; the owner hears of it, nobody is created
    assert (response.status_code, response.content) == (fresh.status_code, fresh.content)
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["taken@example.com"]
    assert message.subject == "Someone tried to sign up with your address"
    assert "Hello Owner" in message.body
    assert "/forgot-password" in message.body
    assert message.alternatives[0][1] == "text/html"


def test_email_of_a_deleted_user_can_register_again(api_client):
    UserFactory(email="gone@example.com", status=User.Status.DELETED)

    response = register(api_client, email="gone@example.com")

    assert response.status_code == 202, response.content
    assert User.objects.filter(email="gone@example.com").count() == 2


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Ab1!", ["This password is too short. It must contain at least 8 characters."]),
        ("lowercase-only-1", ["This password must contain an upper-case letter."]),
        ("UPPERCASE-ONLY-1", ["This password must contain a lower-case letter."]),
        ("No-Digits-Here!", ["This password must contain a digit."]),
        ("NoSymbols12345", ["This password must contain a symbol (a character that is not a letter, digit or space)."]),
        ("P@ssw0rd", ["This password is too common."]),
        (
            "zqx",
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password must contain an upper-case letter.",
                "This password must contain a digit.",
                "This password must contain a symbol (a character that is not a letter, digit or space).",
            ],
        ),
    ],
)
def test_each_broken_password_rule_is_reported(api_client, password, expected):
    response = register(api_client, password=password)

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"] == {"password": expected}
    assert not User.objects.exists()


def test_password_too_similar_to_the_email_is_refused(api_client):
    response = register(api_client, email="margaret.hamilton@example.com", password="Margaret.Hamilton1")

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"]["password"] == ["The password is too similar to the email."]


def test_a_weak_password_is_reported_alike_for_taken_and_new_emails(api_client):
    UserFactory(email="taken@example.com")

    taken = assert_error(register(api_client, email="taken@example.com", password="weak"), 400, "VALIDATION_ERROR")
    new = assert_error(register(api_client, email="new@example.com", password="weak"), 400, "VALIDATION_ERROR")

    assert taken["details"] == new["details"]
    assert set(taken["details"]) == {"password"}


@pytest.mark.parametrize("missing", ["email", "password", "full_name"])
def test_register_requires_each_field(api_client, missing):
    body = {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "A"}
    del body[missing]

    error = assert_error(api_client.post(REGISTER_URL, body, format="json"), 400, "VALIDATION_ERROR")

    assert set(error["details"]) == {missing}


def test_register_with_malformed_email_is_validation_error(api_client):
    error = assert_error(register(api_client, email="not-an-email"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"email"}


def test_register_ignores_a_stale_bearer_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    assert register(api_client).status_code == 202


def test_register_publishes_user_registered_event(api_client):
    from apps.core.models import OutboxEvent

    response = api_client.post(
        REGISTER_URL,
        {"email": "e@example.com", "password": DEFAULT_PASSWORD, "full_name": "E"},
        format="json",
        HTTP_USER_AGENT="agent/1.0",
    )

    assert response.status_code == 202
    user = User.objects.get(email="e@example.com")
    event = OutboxEvent.objects.get(event_type="user.registered")
    assert event.payload == {
        "user_id": str(user.id),
        "actor_id": str(user.id),
        "ip": "127.0.0.1",
        "user_agent": "agent/1.0",
    }


def test_passwords_are_hashed_with_argon2(api_client, settings):
    from olympus.settings import base

    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS

    register(api_client)

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert User.objects.get().password.startswith("argon2$")
