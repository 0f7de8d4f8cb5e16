"""Bearer authentication: simplejwt's, plus the rule that the token's session is still live.

DRF imports this module while it is itself being imported (it resolves
DEFAULT_AUTHENTICATION_CLASSES in rest_framework.views), so project modules
that import DRF views are imported inside the method, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.tokens import Token

from apps.accounts.tokens import token_identity

if TYPE_CHECKING:
    from apps.accounts.models import User


class SessionJWTAuthentication(JWTAuthentication):
    """Accept an access token only while its session row is live.

    simplejwt checks signature, expiry and type; this reads the session and its
    user in one query instead of simplejwt's user lookup, so logging out,
    revoking a session, changing the password or suspending the user stops the
    token at once rather than when it expires.
    """

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
