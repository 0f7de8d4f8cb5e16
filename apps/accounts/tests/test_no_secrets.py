"""No response body, log line or outbox event carries a password, a hash or a token it should not."""

import logging

import pytest
from django.core import mail

from apps.accounts.models import User
from apps.accounts.tests.helpers import (
    LOGIN_URL,
    LOGOUT_URL,
    ME_URL,
    NEW_PASSWORD,
    PASSWORD_URL,
    REFRESH_URL,
    REGISTER_URL,
    RESET_CONFIRM_URL,
    RESET_URL,
    SESSIONS_URL,
    VERIFY_URL,
    link_token,
)
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

PASSWORD = "First-Secret-pass-1!"


@pytest.fixture
def without_redaction():
    """Check what the code logs, not what the redaction filter (the safety net) lets through."""
    from apps.core.logging import RedactingFilter

    removed = []
    for handler in logging.getLogger().handlers:
        for log_filter in list(handler.filters):
            if isinstance(log_filter, RedactingFilter):
                handler.removeFilter(log_filter)
                removed.append((handler, log_filter))
    yield
    for handler, log_filter in removed:
        handler.addFilter(log_filter)


def record_text(record: logging.LogRecord) -> str:
    return " ".join([record.getMessage(), *(str(value) for value in vars(record).values())])


def test_no_password_or_token_leaks_anywhere(api_client, caplog, django_capture_on_commit_callbacks, without_redaction):
    caplog.set_level(logging.DEBUG)
    bodies: dict[str, str] = {}

    def call(name, method, url, body=None, access=None):
        if access:
            api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        else:
            api_client.credentials()
        with django_capture_on_commit_callbacks(execute=True):
            response = (
                getattr(api_client, method)(url, body, format="json")
                if body is not None
                else getattr(api_client, method)(url)
            )
        bodies[name] = response.content.decode()
        return response

    # given: a whole account life cycle, including failures
    call("register", "post", REGISTER_URL, {"email": "leak@example.com", "password": PASSWORD, "full_name": "Lee"})
    verify_token = link_token(mail.outbox[-1], "http://localhost:8000/verify-email")
    call("verify", "post", VERIFY_URL, {"token": verify_token})
    call("verify_again", "post", VERIFY_URL, {"token": verify_token})
    call("register_weak", "post", REGISTER_URL, {"email": "w@example.com", "password": "weakpass", "full_name": "W"})
    call("login_wrong", "post", LOGIN_URL, {"email": "leak@example.com", "password": "Wrong-guess-pass-9"})
    login = call("login", "post", LOGIN_URL, {"email": "leak@example.com", "password": PASSWORD}).json()
    rotated = call("refresh", "post", REFRESH_URL, {"refresh": login["refresh"]}).json()
    call("refresh_reuse", "post", REFRESH_URL, {"refresh": login["refresh"]})
    second = call("login2", "post", LOGIN_URL, {"email": "leak@example.com", "password": PASSWORD}).json()
    call("me", "get", ME_URL, access=second["access"])
    call("sessions", "get", SESSIONS_URL, access=second["access"])
    call(
        "change_wrong",
        "post",
        PASSWORD_URL,
        {"current_password": "Nope-nope-1!", "new_password": NEW_PASSWORD},
        access=second["access"],
    )
    call(
        "change",
        "post",
        PASSWORD_URL,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        access=second["access"],
    )
    call("reset", "post", RESET_URL, {"email": "leak@example.com"})
    reset_token = link_token(mail.outbox[-1], "http://localhost:8000/reset-password")
    final_password = "Third-Secret-pass-3!"
    call("reset_confirm", "post", RESET_CONFIRM_URL, {"token": reset_token, "new_password": final_password})
    call("reset_reuse", "post", RESET_CONFIRM_URL, {"token": reset_token, "new_password": final_password})
    call("logout", "post", LOGOUT_URL, {"refresh": second["refresh"]})
    call("me_after", "get", ME_URL, access=second["access"])

    user = User.objects.get(email="leak@example.com")
    passwords = [PASSWORD, NEW_PASSWORD, final_password, "Wrong-guess-pass-9", "Nope-nope-1!", "weakpass"]
    tokens = [
        verify_token,
        reset_token,
        login["access"],
        login["refresh"],
        rotated["access"],
        rotated["refresh"],
        second["access"],
        second["refresh"],
    ]
    hashes = [user.password]

    # then: responses carry tokens only where they are the answer (login, refresh), never passwords or hashes
    for name, body in bodies.items():
        for secret in passwords + hashes:
            assert secret not in body, f"{name} leaks a password or hash"
        if name not in {"login", "login2", "refresh"}:
            for token in tokens:
                assert token not in body, f"{name} leaks a token"
    # and no log line and no event carries any of them
    events = " ".join(str(event.payload) for event in OutboxEvent.objects.all())
    assert caplog.records
    for record in caplog.records:
        text = record_text(record)
        for secret in passwords + hashes + tokens:
            assert secret not in text, f"log line leaks a secret: {record.getMessage()!r}"
    for secret in passwords + hashes + tokens:
        assert secret not in events
    # the flow did what it should (so the check above saw real traffic)
    assert [m.subject for m in mail.outbox].count("Your password was changed") == 2
    assert any(r.getMessage().startswith("auth.login_failed") for r in caplog.records)
    assert any("refresh reuse detected" in r.getMessage() for r in caplog.records)
