"""Assertions and small flows the accounts tests share."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from apps.accounts.tests.factories import DEFAULT_PASSWORD

LOGIN_URL = "/api/v1/auth/login"
REFRESH_URL = "/api/v1/auth/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
LOGOUT_ALL_URL = "/api/v1/auth/logout-all"
REGISTER_URL = "/api/v1/auth/register"
ME_URL = "/api/v1/users/me"
PASSWORD_URL = "/api/v1/users/me/password"
SESSIONS_URL = "/api/v1/users/me/sessions"
RESET_URL = "/api/v1/auth/password-reset"
RESET_CONFIRM_URL = "/api/v1/auth/password-reset/confirm"
VERIFY_URL = "/api/v1/auth/verify-email"
VERIFY_RESEND_URL = "/api/v1/auth/verify-email/resend"

NEW_PASSWORD = "Brand-new-Pass-42?"


def assert_error(response, status: int, code: str) -> dict:
    """The response is the error envelope with this status and code; returns the ``error`` object."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def login(client, email: str, password: str = DEFAULT_PASSWORD, *, user_agent: str = "pytest", ip: str = "127.0.0.1"):
    return client.post(
        LOGIN_URL, {"email": email, "password": password}, format="json", HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip
    )


def login_tokens(client, email: str, password: str = DEFAULT_PASSWORD, **kwargs) -> dict:
    response = login(client, email, password, **kwargs)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(client, access: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def link_token(message, prefix: str) -> str:
    """The ``token`` of the link starting with ``prefix`` in an email's text, also linked in its HTML."""
    match = re.search("(" + re.escape(prefix) + r"\?token=[\w\-%.~]+)", message.body)
    assert match, message.body
    url = match.group(1)
    html = message.alternatives[0][0]
    assert f'href="{url}"' in html
    return parse_qs(urlsplit(url).query)["token"][0]
