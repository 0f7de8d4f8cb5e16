"""An access token's signature is checked once per process; its expiry and its session on every request."""

import time

import jwt
import pytest
from django.conf import settings

from apps.accounts.authentication import VerifiedTokens, verified_tokens
from apps.accounts.tests.helpers import LOGOUT_URL, ME_URL, bearer, login_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty():
    verified_tokens.clear()
    yield
    verified_tokens.clear()


def _resigned(token: str, key: str | None = None, **changes) -> str:
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(claims, key or settings.SECRET_KEY, algorithm="HS256")


def test_a_verified_token_is_kept_and_still_refused_once_its_session_is_revoked(api_client, user):
    tokens = login_tokens(api_client, user.email)
    assert bearer(api_client, tokens["access"]).get(ME_URL).status_code == 200
    assert tokens["access"].encode() in verified_tokens
    assert bearer(api_client, tokens["access"]).get(ME_URL).status_code == 200  # served from the cache

    api_client.credentials()
    assert api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json").status_code == 204

    # The signature is still the one verified, but the session row is read on every request.
    assert tokens["access"].encode() in verified_tokens
    assert bearer(api_client, tokens["access"]).get(ME_URL).status_code == 401


def test_a_kept_token_is_refused_once_it_expires(api_client, user):
    access = _resigned(login_tokens(api_client, user.email)["access"], exp=int(time.time()) + 2)
    assert bearer(api_client, access).get(ME_URL).status_code == 200
    assert access.encode() in verified_tokens

    time.sleep(max(0.0, jwt.decode(access, options={"verify_signature": False})["exp"] - time.time()) + 0.1)

    response = bearer(api_client, access).get(ME_URL)
    assert response.status_code == 401
    assert access.encode() not in verified_tokens  # dropped, then refused by simplejwt's own check


@pytest.mark.parametrize("kind", ["expired", "other-key", "tampered"])
def test_a_refused_token_is_never_kept(api_client, user, kind):
    access = login_tokens(api_client, user.email)["access"]
    bad = {
        "expired": lambda: _resigned(access, exp=int(time.time()) - 1),
        "other-key": lambda: _resigned(access, key="not-the-server-key-" * 3),
        "tampered": lambda: access[:-2] + ("AA" if not access.endswith("AA") else "BB"),
    }[kind]()

    for _ in range(2):
        assert bearer(api_client, bad).get(ME_URL).status_code == 401
    assert bad.encode() not in verified_tokens
    assert len(verified_tokens) == 0


def test_kept_tokens_are_forgotten_when_the_token_settings_change(api_client, user, settings):
    access = login_tokens(api_client, user.email)["access"]
    assert bearer(api_client, access).get(ME_URL).status_code == 200
    assert access.encode() in verified_tokens

    settings.SECRET_KEY = "another-" + settings.SECRET_KEY

    assert len(verified_tokens) == 0  # the next request checks the signature again


def test_the_cache_is_bounded_and_forgets_the_oldest_first(api_client, user):
    from apps.accounts.authentication import SessionJWTAuthentication

    tokens = [login_tokens(api_client, user.email)["access"].encode() for _ in range(3)]
    kept = VerifiedTokens(size=2)
    for raw in tokens:
        kept.put(raw, SessionJWTAuthentication().get_validated_token(raw))

    assert len(kept) == 2
    assert tokens[0] not in kept
    assert tokens[1] in kept
    assert tokens[2] in kept
    assert kept.get(tokens[2])["sid"] == jwt.decode(tokens[2], options={"verify_signature": False})["sid"]
