"""Accounts over GraphQL: the same services, rules and error codes as REST."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User, UserSession
from apps.accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = """
mutation($email: String!, $password: String!, $fullName: String!) {
  register(email: $email, password: $password, fullName: $fullName) { detail }
}"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { access refresh user { id email } }
}"""
REFRESH = "mutation($refresh: String!) { refreshToken(refresh: $refresh) { access refresh } }"


def test_me_returns_the_profile(gql, member):
    result = gql("{ me { id email fullName status isStaff preferences createdAt } }", user=member)

    assert result.errors == []
    assert result.data["me"]["id"] == str(member.pk)
    assert result.data["me"]["status"] == "active"
    assert result.data["me"]["isStaff"] is False


def test_register_creates_an_unverified_active_user(gql, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = gql(REGISTER, {"email": "New@Example.com", "password": "Sup3r-secret!", "fullName": " Ada "})

    assert result.errors == []
    assert result.data["register"]["detail"].startswith("Thanks")
    user = User.objects.get(email="new@example.com")
    assert user.check_password("Sup3r-secret!")
    assert user.email_verified_at is None


def test_register_answers_a_taken_email_as_a_new_one(gql, user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fresh = gql(REGISTER, {"email": "fresh@example.com", "password": "Sup3r-secret!", "fullName": "F"})
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        taken = gql(REGISTER, {"email": user.email.upper(), "password": "Sup3r-secret!", "fullName": "F"})

    assert taken.data == fresh.data
    assert taken.errors == []
    assert [m.to for m in mailoutbox] == [[user.email]]
    assert mailoutbox[0].subject == "Someone tried to sign up with your address"


def test_register_reports_each_failed_rule_by_field(gql, user):
    result = gql(REGISTER, {"email": user.email, "password": "short", "fullName": "X"})

    assert result.codes == ["VALIDATION_ERROR"]
    details = result.error["extensions"]["details"]
    assert set(details) == {"password"}  # a taken email is not told
    assert len(details["password"]) >= 3  # length, upper case, digit, symbol...


def test_register_validates_the_email_format_like_rest(gql):
    result = gql(REGISTER, {"email": "not-an-email", "password": "Sup3r-secret!", "fullName": "X"})

    assert result.codes == ["VALIDATION_ERROR"]
    assert "email" in result.error["extensions"]["details"]


def test_login_opens_a_session_whose_access_token_works(gql, user):
    result = gql(LOGIN, {"email": user.email.upper(), "password": DEFAULT_PASSWORD})

    assert result.errors == []
    payload = result.data["login"]
    assert payload["user"]["id"] == str(user.pk)
    assert UserSession.objects.filter(user=user).count() == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {payload['access']}")
    assert gql("{ me { id } }", client=client).data == {"me": {"id": str(user.pk)}}


@pytest.mark.parametrize("email", ["user-that-does-not-exist@example.com", None])
def test_login_with_wrong_credentials_is_unauthorized_alike(gql, user, email):
    result = gql(LOGIN, {"email": email or user.email, "password": "Wrong-password-1!"})

    assert result.codes == ["UNAUTHORIZED"]
    assert result.error["message"] == "Invalid email or password."
    assert result.data == {"login": None}


def test_login_of_a_suspended_user_is_unauthorized(gql):
    from apps.accounts.tests.factories import UserFactory

    suspended = UserFactory(status=User.Status.SUSPENDED)

    assert gql(LOGIN, {"email": suspended.email, "password": DEFAULT_PASSWORD}).codes == ["UNAUTHORIZED"]


def test_refresh_token_rotates_and_a_reused_token_ends_the_session(gql, user, api_client_for):
    client = api_client_for(user)
    old_refresh = client.tokens.refresh

    rotated = gql(REFRESH, {"refresh": old_refresh})
    assert rotated.errors == []
    assert rotated.data["refreshToken"]["refresh"] != old_refresh

    # when the rotated-out token is presented again
    reused = gql(REFRESH, {"refresh": old_refresh})

    # then it is refused and the whole session ends (the new token dies too)
    assert reused.codes == ["UNAUTHORIZED"]
    assert gql(REFRESH, {"refresh": rotated.data["refreshToken"]["refresh"]}).codes == ["UNAUTHORIZED"]


def test_refresh_with_garbage_is_unauthorized(gql):
    assert gql(REFRESH, {"refresh": "garbage"}).codes == ["UNAUTHORIZED"]
