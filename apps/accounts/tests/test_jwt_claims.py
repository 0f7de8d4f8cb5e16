"""Access and refresh tokens carry an issuer and an audience, and a token without the right ones is refused."""

import jwt
import pytest
from django.conf import settings

from apps.accounts.tests.factories import DEFAULT_PASSWORD
from apps.accounts.tests.helpers import LOGIN_URL, ME_URL, REFRESH_URL

pytestmark = pytest.mark.django_db


def _login(api_client, user):
    response = api_client.post(LOGIN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_tokens_name_their_issuer_and_audience(api_client, user):
    body = _login(api_client, user)

    for token in (body["access"], body["refresh"]):
        claims = _claims(token)
        assert claims["iss"] == settings.SIMPLE_JWT["ISSUER"] == "olympus"
        assert claims["aud"] == settings.SIMPLE_JWT["AUDIENCE"] == "olympus-api"


def _resigned(token, **changes):
    """The token with claims changed or removed (None), signed with the server's own key."""
    claims = {**_claims(token), **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, settings.SECRET_KEY, algorithm="HS256")


@pytest.mark.parametrize(
    "changes",
    [{"aud": None}, {"aud": "another-api"}, {"iss": None}, {"iss": "someone-else"}],
    ids=["no-aud", "wrong-aud", "no-iss", "wrong-iss"],
)
def test_an_access_token_without_our_issuer_and_audience_is_refused(api_client, user, changes):
    access = _resigned(_login(api_client, user)["access"], **changes)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("changes", [{"aud": "another-api"}, {"iss": "someone-else"}])
def test_a_refresh_token_without_our_issuer_and_audience_is_refused(api_client, user, changes):
    refresh = _resigned(_login(api_client, user)["refresh"], **changes)

    response = api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")

    assert response.status_code == 401


def test_the_unchanged_token_still_works(api_client, user):
    access = _resigned(_login(api_client, user)["access"])

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get(ME_URL).status_code == 200
