"""Sign in, refresh rotation with reuse detection, sign out, and immediate revocation."""

import pytest
from django.utils import timezone

from apps.accounts.models import User, UserSession
from apps.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from apps.accounts.tests.helpers import (
    LOGIN_URL,
    LOGOUT_ALL_URL,
    LOGOUT_URL,
    ME_URL,
    REFRESH_URL,
    assert_error,
    bearer,
    login,
    login_tokens,
)
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

INVALID_CREDENTIALS = "Invalid email or password."


def me_status(api_client, access: str) -> int:
    return bearer(api_client, access).get(ME_URL).status_code


def refresh(api_client, token: str):
    api_client.credentials()
    return api_client.post(REFRESH_URL, {"refresh": token}, format="json")


# --- login -----------------------------------------------------------------------------------


def test_login_returns_tokens_and_user_and_opens_a_session(api_client, user):
    # when
    response = login(api_client, user.email.upper(), user_agent="Firefox/140", ip="203.0.113.9")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["id"] == str(user.id)
    assert body["user"]["email"] == user.email
    session = UserSession.objects.get(user=user)
    assert session.user_agent == "Firefox/140"
    assert session.ip_address == "203.0.113.9"
    assert session.revoked_at is None
    user.refresh_from_db()
    assert user.last_login is not None
    assert user.last_active_at is not None
    assert me_status(api_client, body["access"]) == 200


def test_token_lifetimes_follow_settings(api_client, user):
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.tokens import SessionRefreshToken

    tokens = login_tokens(api_client, user.email)

    access = AccessToken(tokens["access"])
    refresh_token = SessionRefreshToken(tokens["refresh"])
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh_token["exp"] - refresh_token["iat"] == 7 * 24 * 3600
    assert access["sid"] == refresh_token["sid"] == str(UserSession.objects.get().id)


@pytest.mark.parametrize(
    "case",
    ["wrong_password", "unknown_email", "suspended", "deleted", "inactive"],
)
def test_login_failures_are_indistinguishable_401(api_client, case):
    # given
    user = UserFactory(email="person@example.com")
    email, password = user.email, DEFAULT_PASSWORD
    if case == "wrong_password":
        password = "Not-the-password-1"
    elif case == "unknown_email":
        email = "nobody@example.com"
    else:
        user.set_status(case)
        user.save()

    # when
    response = login(api_client, email, password)

    # then
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert error["message"] == INVALID_CREDENTIALS
    assert error["details"] == {}
    assert not UserSession.objects.exists()


def test_failed_login_is_recorded_without_the_password(api_client, user):
    login(api_client, user.email, "Wrong-password-1", user_agent="curl/8")

    event = OutboxEvent.objects.get(event_type="auth.login_failed")
    assert event.payload == {
        "user_id": str(user.id),
        "actor_id": str(user.id),
        "ip": "127.0.0.1",
        "user_agent": "curl/8",
        "email": user.email,
        "reason": "bad_password",
    }


def test_login_with_malformed_body_is_validation_error(api_client):
    error = assert_error(api_client.post(LOGIN_URL, {"email": "x"}, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"email", "password"}


def test_login_records_auth_login_event(api_client, user):
    login(api_client, user.email, user_agent="Safari/18", ip="198.51.100.7")

    event = OutboxEvent.objects.get(event_type="auth.login")
    assert event.payload["user_id"] == str(user.id)
    assert event.payload["ip"] == "198.51.100.7"
    assert event.payload["user_agent"] == "Safari/18"
    assert event.payload["session_id"] == str(UserSession.objects.get().id)


# --- access tokens ---------------------------------------------------------------------------


def test_me_without_token_is_401(api_client):
    response = api_client.get(ME_URL)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_refresh_token_is_not_accepted_as_bearer(api_client, user):
    tokens = login_tokens(api_client, user.email)
    assert_error(bearer(api_client, tokens["refresh"]).get(ME_URL), 401, "UNAUTHORIZED")


def test_access_token_without_session_claim_is_refused(api_client, user):
    from rest_framework_simplejwt.tokens import RefreshToken

    plain = RefreshToken.for_user(user).access_token  # a stock simplejwt token names no session

    assert_error(bearer(api_client, str(plain)).get(ME_URL), 401, "UNAUTHORIZED")


def test_access_token_of_expired_session_is_refused(api_client, user):
    tokens = login_tokens(api_client, user.email)
    UserSession.objects.update(expires_at=timezone.now())

    assert me_status(api_client, tokens["access"]) == 401


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(api_client, user):
    # given
    tokens = login_tokens(api_client, user.email)

    # when
    response = refresh(api_client, tokens["refresh"])

    # then
    assert response.status_code == 200, response.content
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"}
    assert rotated["refresh"] != tokens["refresh"]
    assert me_status(api_client, rotated["access"]) == 200
    # the rotated token keeps rotating within the same session
    again = refresh(api_client, rotated["refresh"])
    assert again.status_code == 200
    assert UserSession.objects.filter(user=user).count() == 1


def test_reusing_a_rotated_out_refresh_token_revokes_the_whole_session(api_client, user):
    # given: the refresh token was rotated once
    tokens = login_tokens(api_client, user.email)
    rotated = refresh(api_client, tokens["refresh"]).json()

    # when: the old one is presented again (a stolen copy)
    response = refresh(api_client, tokens["refresh"])

    # then: refused, and nothing of that session works any more
    assert_error(response, 401, "UNAUTHORIZED")
    session = UserSession.objects.get()
    assert session.revoked_at is not None
    assert session.revoked_reason == UserSession.RevokeReason.REFRESH_REUSE
    assert_error(refresh(api_client, rotated["refresh"]), 401, "UNAUTHORIZED")
    assert me_status(api_client, rotated["access"]) == 401
    assert me_status(api_client, tokens["access"]) == 401
    event = OutboxEvent.objects.get(event_type="auth.session_revoked")
    assert event.payload["reason"] == "refresh_reuse"
    assert event.payload["session_ids"] == [str(session.id)]


def test_reuse_revokes_only_that_session(api_client, user):
    stolen = login_tokens(api_client, user.email)
    other = login_tokens(api_client, user.email)
    refresh(api_client, stolen["refresh"])

    refresh(api_client, stolen["refresh"])

    assert me_status(api_client, other["access"]) == 200


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_refresh_with_invalid_token(api_client, token):
    response = refresh(api_client, token)
    assert response.status_code in (400, 401)
    if token:
        assert_error(response, 401, "UNAUTHORIZED")
    else:
        assert_error(response, 400, "VALIDATION_ERROR")


def test_refresh_with_an_access_token_is_refused(api_client, user):
    tokens = login_tokens(api_client, user.email)
    assert_error(refresh(api_client, tokens["access"]), 401, "UNAUTHORIZED")


def test_refresh_with_expired_token_is_refused(api_client, user, settings):
    from datetime import timedelta

    from apps.accounts.tokens import SessionRefreshToken

    session = UserSession.objects.create(user=user, refresh_jti="x", expires_at=timezone.now() + timedelta(days=1))
    token = SessionRefreshToken.for_session(user_id=user.id, session_id=session.id)
    token.set_exp(lifetime=timedelta(seconds=-1))
    session.refresh_jti = token.jti
    session.save()

    assert_error(refresh(api_client, str(token)), 401, "UNAUTHORIZED")


def test_refresh_after_logout_is_refused(api_client, user):
    tokens = login_tokens(api_client, user.email)
    api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")

    assert_error(refresh(api_client, tokens["refresh"]), 401, "UNAUTHORIZED")


def test_refresh_for_suspended_user_is_refused(api_client, user):
    tokens = login_tokens(api_client, user.email)
    User.objects.filter(id=user.id).update(status=User.Status.SUSPENDED, is_active=False)

    assert_error(refresh(api_client, tokens["refresh"]), 401, "UNAUTHORIZED")


# --- logout ----------------------------------------------------------------------------------


def test_logout_revokes_that_session_at_once(api_client, user):
    # given
    tokens = login_tokens(api_client, user.email)
    other = login_tokens(api_client, user.email)
    assert me_status(api_client, tokens["access"]) == 200

    # when
    api_client.credentials()
    response = api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")

    # then: the (unexpired) access token stops working immediately; other sessions live on
    assert response.status_code == 204
    assert me_status(api_client, tokens["access"]) == 401
    assert me_status(api_client, other["access"]) == 200
    event = OutboxEvent.objects.get(event_type="auth.logout")
    assert event.payload["scope"] == "session"


def test_logout_twice_is_not_an_error(api_client, user):
    tokens = login_tokens(api_client, user.email)
    api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")

    assert api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert OutboxEvent.objects.filter(event_type="auth.logout").count() == 1


def test_logout_with_invalid_refresh_token_is_401(api_client):
    assert_error(api_client.post(LOGOUT_URL, {"refresh": "garbage"}, format="json"), 401, "UNAUTHORIZED")


def test_logout_works_with_an_expired_access_token_header(api_client, user):
    tokens = login_tokens(api_client, user.email)
    api_client.credentials(HTTP_AUTHORIZATION="Bearer stale")

    assert api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json").status_code == 204


def test_logout_all_revokes_every_session(api_client, user):
    # given
    first = login_tokens(api_client, user.email)
    second = login_tokens(api_client, user.email)

    # when
    response = bearer(api_client, first["access"]).post(LOGOUT_ALL_URL)

    # then
    assert response.status_code == 204
    assert me_status(api_client, first["access"]) == 401
    assert me_status(api_client, second["access"]) == 401
    assert not UserSession.objects.filter(revoked_at__isnull=True).exists()
    event = OutboxEvent.objects.get(event_type="auth.logout")
    assert event.payload["scope"] == "all"
    assert len(event.payload["session_ids"]) == 2


def test_logout_all_requires_authentication(api_client):
    assert_error(api_client.post(LOGOUT_ALL_URL), 401, "UNAUTHORIZED")


def test_logout_all_leaves_other_users_alone(api_client, user, other_user):
    mine = login_tokens(api_client, user.email)
    theirs = login_tokens(api_client, other_user.email)

    bearer(api_client, mine["access"]).post(LOGOUT_ALL_URL)

    assert me_status(api_client, theirs["access"]) == 200


# --- session bookkeeping ---------------------------------------------------------------------


def test_requests_touch_the_session_at_most_once_per_interval(api_client, user, settings):
    from datetime import timedelta

    tokens = login_tokens(api_client, user.email)
    long_ago = timezone.now() - timedelta(hours=1)
    UserSession.objects.update(last_used_at=long_ago)
    User.objects.filter(id=user.id).update(last_active_at=long_ago)

    me_status(api_client, tokens["access"])

    session = UserSession.objects.get()
    assert session.last_used_at > long_ago
    user.refresh_from_db()
    assert user.last_active_at > long_ago


@pytest.mark.parametrize("url", [LOGIN_URL, "/api/v1/auth/password-reset"])
def test_malformed_json_on_throttled_endpoints_is_validation_error(api_client, url):
    response = api_client.post(url, data='{"email": ', content_type="application/json")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_login_with_a_json_list_body_is_validation_error(api_client):
    assert_error(api_client.post(LOGIN_URL, ["a"], format="json"), 400, "VALIDATION_ERROR")
