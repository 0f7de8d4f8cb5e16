"""JWTs bound to server-side sessions.

simplejwt signs, encodes and checks (signature, expiry, type) both tokens; a
claim ``sid`` names the :class:`~apps.accounts.models.UserSession` they belong
to. Whether a refresh token may still be used is decided by that row (its
``refresh_jti``), which also tells a rotated-out token from the current one;
simplejwt's outstanding/blacklist tables are therefore not written (they would
keep every refresh token in clear text).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

SESSION_CLAIM = "sid"


class SessionRefreshToken(Token):
    token_type = "refresh"  # noqa: S105 - the JWT type claim
    lifetime = api_settings.REFRESH_TOKEN_LIFETIME
    # The access token inherits the identity claims (user id, session id), not these.
    no_copy_claims = (api_settings.TOKEN_TYPE_CLAIM, "exp", api_settings.JTI_CLAIM, "jti", "iat")

    @classmethod
    def for_session(cls, *, user_id: uuid.UUID, session_id: uuid.UUID) -> SessionRefreshToken:
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(user_id)
        token[SESSION_CLAIM] = str(session_id)
        return token

    @property
    def jti(self) -> str:
        return str(self.payload[api_settings.JTI_CLAIM])

    @property
    def expires_at(self) -> datetime:
        return datetime_from_epoch(self.payload["exp"])

    @property
    def access_token(self) -> AccessToken:
        access = AccessToken()
        # Same issue time as the refresh token, as simplejwt's RefreshToken does.
        access.set_exp(from_time=self.current_time)
        for claim, value in self.payload.items():
            if claim not in self.no_copy_claims:
                access[claim] = value
        return access


def token_identity(token: Token) -> tuple[uuid.UUID, uuid.UUID] | None:
    """``(user_id, session_id)`` named by a verified token, or None when it names no session."""
    try:
        return uuid.UUID(str(token[api_settings.USER_ID_CLAIM])), uuid.UUID(str(token[SESSION_CLAIM]))
    except (KeyError, ValueError):
        return None
