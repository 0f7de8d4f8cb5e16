"""Bearer authentication: simplejwt's, plus the rule that the token's session is still live.

DRF imports this module while it is itself being imported (it resolves
DEFAULT_AUTHENTICATION_CLASSES in rest_framework.views), so project modules
that import DRF views are imported inside the method, not here.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from apps.accounts.tokens import token_identity

if TYPE_CHECKING:
    from apps.accounts.models import User


class VerifiedTokens:
    """The claims of access tokens whose signature and claims were verified, by their exact encoded form.

    Checking a token's signature (and decoding it) costs more CPU than anything else in
    authentication but the session's round trip, and a client sends the same access token
    with every request of its lifetime. What verification established once stays true of the
    same bytes (signature, issuer, audience, type, ``nbf``/``iat`` already reached), except
    the expiry: that is checked again on every use, and an expired entry is dropped, so the
    token then goes through simplejwt's full check again and is refused as before.
    Only successes are kept; bounded (the oldest entry goes first); one per process.
    Whether the token's session is still live is not cached: :meth:`SessionJWTAuthentication.get_user`
    reads the session row on every request, so revocation takes effect at once.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[bytes, tuple[type[Token], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, raw_token: bytes) -> Token | None:
        """A fresh token object for ``raw_token`` if it was verified before and has not expired since."""
        entry = self._entries.get(raw_token)
        if entry is None:
            return None
        token_class, payload = entry
        token = token_class.__new__(token_class)  # what Token.__init__ sets up, without decoding again
        token.token = raw_token  # type: ignore[assignment]  # simplejwt keeps the encoded form as it came
        token.current_time = aware_utcnow()
        token.payload = dict(payload)
        try:
            token.check_exp()
        except TokenError:
            self.discard(raw_token)
            return None
        return token

    def put(self, raw_token: bytes, token: Token) -> None:
        with self._lock:
            while len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[raw_token] = (type(token), dict(token.payload))

    def discard(self, raw_token: bytes) -> None:
        with self._lock:
            self._entries.pop(raw_token, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __contains__(self, raw_token: bytes) -> bool:
        return raw_token in self._entries

    def __len__(self) -> int:
        return len(self._entries)


verified_tokens = VerifiedTokens(size=4096)


@receiver(setting_changed)
def _forget_verified_tokens(*, setting: str, **kwargs: Any) -> None:
    """A token verified under other keys, issuer or audience is verified again (tests override these)."""
    if setting in ("SIMPLE_JWT", "SECRET_KEY"):
        verified_tokens.clear()


class SessionJWTAuthentication(JWTAuthentication):
    """Accept an access token only while its session row is live.

    simplejwt checks signature, expiry and type; this reads the session and its
    user in one query instead of simplejwt's user lookup, so logging out,
    revoking a session, changing the password or suspending the user stops the
    token at once rather than when it expires.
    """

    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's check, once per token per process (:class:`VerifiedTokens`); the expiry on every use."""
        token = verified_tokens.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)  # raises for an invalid token: nothing is kept
            verified_tokens.put(raw_token, token)
        return token

    def get_user(self, validated_token: Token) -> User:
        from apps.accounts.selectors import session_get_for_authentication
        from apps.accounts.services import session_touch

        identity = token_identity(validated_token)
        if identity is None:
            raise InvalidToken(_("Token is not bound to a session."))
        user_id, session_id = identity
        session = session_get_for_authentication(user_id=user_id, session_id=session_id)
        if session is None:
            raise AuthenticationFailed(_("The session has ended; sign in again."), code="session_revoked")
        if not session.user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        session_touch(session=session)
        return session.user
