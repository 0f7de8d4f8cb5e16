"""Browser clients: the refresh token in an HttpOnly cookie limited to the auth endpoints, CSRF-checked;
the body form is unchanged; rotation and reuse detection are the same for both."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.models import UserSession
from apps.accounts.tests.factories import DEFAULT_PASSWORD
from apps.accounts.tests.helpers import LOGIN_URL, LOGOUT_URL, ME_URL, REFRESH_URL

pytestmark = pytest.mark.django_db

COOKIE = "olympus_refresh"


@pytest.fixture
def browser():
    """A client that enforces CSRF like a real browser session would."""
    return APIClient(enforce_csrf_checks=True)


def login_with_cookie(client, user):
    response = client.post(
        LOGIN_URL, {"email": user.email, "password": DEFAULT_PASSWORD, "refresh_cookie": True}, format="json"
    )
    assert response.status_code == 200, response.content
    return response


def csrf_headers(client):
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_login_sets_the_refresh_cookie_instead_of_the_body(browser, user):
    response = login_with_cookie(browser, user)

    body = response.json()
    assert "refresh" not in body
    assert body["access"]
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/"
    assert int(cookie["max-age"]) == int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds())
    assert "csrftoken" in response.cookies


def test_non_browser_clients_keep_the_body_form(api_client, user):
    response = api_client.post(LOGIN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")

    assert response.json()["refresh"]
    assert COOKIE not in response.cookies
    rotated = api_client.post(REFRESH_URL, {"refresh": response.json()["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"]


def test_cookie_refresh_with_the_csrf_header_rotates_the_cookie(browser, user):
    # given
    first = login_with_cookie(browser, user).cookies[COOKIE].value
    # when
    response = browser.post(REFRESH_URL, {}, format="json", **csrf_headers(browser))
    # then: a new access token, a new refresh cookie, nothing in the body
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access"}
    second = response.cookies[COOKIE].value
    assert second
    assert second != first
    browser.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert browser.get(ME_URL).status_code == 200


def test_cookie_refresh_without_the_csrf_header_is_refused(browser, user):
    login_with_cookie(browser, user)

    response = browser.post(REFRESH_URL, {}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert "CSRF" in response.json()["error"]["message"]


def test_cookie_refresh_with_a_wrong_csrf_token_is_refused(browser, user):
    login_with_cookie(browser, user)

    response = browser.post(REFRESH_URL, {}, format="json", HTTP_X_CSRFTOKEN="x" * 32)

    assert response.status_code == 403


def test_a_cross_site_origin_is_refused_even_with_the_token(browser, user):
    login_with_cookie(browser, user)

    response = browser.post(
        REFRESH_URL, {}, format="json", HTTP_ORIGIN="https://evil.example", secure=True, **csrf_headers(browser)
    )

    assert response.status_code == 403


def test_reusing_a_rotated_cookie_ends_the_session_as_with_the_body_form(browser, user):
    # given: a cookie that was rotated away
    old = login_with_cookie(browser, user).cookies[COOKIE].value
    assert browser.post(REFRESH_URL, {}, format="json", **csrf_headers(browser)).status_code == 200
    # when: the old cookie comes back (stolen and replayed)
    browser.cookies[COOKIE] = old
    response = browser.post(REFRESH_URL, {}, format="json", **csrf_headers(browser))
    # then: 401, the cookie cleared, and the whole session revoked (reuse detection)
    assert response.status_code == 401
    assert response.cookies[COOKIE].value == ""
    session = UserSession.objects.get(user=user)
    assert session.revoked_reason == UserSession.RevokeReason.REFRESH_REUSE


def test_logout_with_the_cookie_ends_the_session_and_clears_it(browser, user):
    login_with_cookie(browser, user)

    response = browser.post(LOGOUT_URL, {}, format="json", **csrf_headers(browser))

    assert response.status_code == 204
    assert response.cookies[COOKIE].value == ""
    assert UserSession.objects.get(user=user).revoked_at is not None


def test_refresh_with_neither_body_nor_cookie_is_a_validation_error(browser):
    response = browser.post(REFRESH_URL, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()["error"]["details"]
