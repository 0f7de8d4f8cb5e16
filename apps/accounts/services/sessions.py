"""Sign-in, refresh-token rotation and the end of sessions.

A session is a row (:class:`UserSession`) named by the ``sid`` claim of its
tokens. Only the refresh token whose jti the row holds may be exchanged; it is
then rotated out. Presenting a rotated-out token again means it was copied, so
the whole session is revoked. Revoking a row stops its access tokens at once
(see :mod:`apps.accounts.authentication`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError

from apps.accounts import events
from apps.accounts.errors import INVALID_CREDENTIALS, INVALID_REFRESH_TOKEN, AuthenticationFailed
from apps.accounts.events import ClientInfo
from apps.accounts.models import User, UserSession
from apps.accounts.selectors import session_get_live
from apps.accounts.tokens import SessionRefreshToken, token_identity
from apps.core.exceptions import Conflict

logger = logging.getLogger("olympus.auth")

USER_AGENT_MAX = UserSession._meta.get_field("user_agent").max_length or 512


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    session: UserSession


@dataclass(frozen=True)
class LoginResult:
    user: User
    tokens: TokenPair


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


# --- internals: run inside the caller's transaction ---------------------------------------


def _session_open(*, user: User, client: ClientInfo, now: datetime) -> TokenPair:
    session = UserSession(user=user, ip_address=client.ip, user_agent=client.user_agent[:USER_AGENT_MAX])
    token = SessionRefreshToken.for_session(user_id=user.id, session_id=session.id)
    session.refresh_jti = token.jti
    session.expires_at = token.expires_at
    session.last_used_at = now
    session.full_clean(exclude=["user"])
    session.save(force_insert=True)
    return TokenPair(access=str(token.access_token), refresh=str(token), session=session)


def _sessions_revoke(*, sessions: QuerySet[UserSession], reason: str, now: datetime) -> list[str]:
    """Revoke the sessions in ``sessions`` not revoked yet; return their ids."""
    ids = list(sessions.filter(revoked_at__isnull=True).select_for_update().values_list("id", flat=True))
    if ids:
        UserSession.objects.filter(id__in=ids).update(revoked_at=now, revoked_reason=reason, updated_at=now)
    return [str(session_id) for session_id in ids]


def user_sessions_revoke_internal(
    *,
    user: User,
    reason: str,
    now: datetime,
    client: ClientInfo | None = None,
    actor_id: uuid.UUID | None = None,
    keep_session_id: uuid.UUID | None = None,
) -> list[str]:
    """Revoke every session of ``user`` (but ``keep_session_id``) and record it, in the caller's transaction."""
    sessions = UserSession.objects.filter(user=user)
    if keep_session_id is not None:
        sessions = sessions.exclude(id=keep_session_id)
    revoked = _sessions_revoke(sessions=sessions, reason=reason, now=now)
    if revoked:
        events.account_event_record(
            event_type=events.AUTH_SESSION_REVOKED,
            user_id=user.id,
            actor_id=actor_id,
            client=client,
            reason=reason,
            session_ids=revoked,
        )
    return revoked


def _refresh_token_decode(raw: str) -> tuple[SessionRefreshToken, uuid.UUID, uuid.UUID]:
    try:
        token = SessionRefreshToken(raw)  # type: ignore[arg-type]  # simplejwt accepts the encoded string
    except TokenError as exc:
        raise AuthenticationFailed(INVALID_REFRESH_TOKEN) from exc
    identity = token_identity(token)
    if identity is None:
        raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
    user_id, session_id = identity
    return token, user_id, session_id


# --- public services ----------------------------------------------------------------------------


def session_start(*, user: User, client: ClientInfo) -> TokenPair:
    """Open a session for a user whose identity is already proven; returns its first token pair."""
    if not user.is_active:
        raise Conflict("Only an active user can have a session.")
    with transaction.atomic(durable=True):
        return _session_open(user=user, client=client, now=timezone.now())


def auth_login(*, email: str, password: str, client: ClientInfo) -> LoginResult:
    """Exchange email and password for a new session.

    Wrong password, unknown email and a user who is not active fail alike
    (same error, same work: Django's backend hashes even for unknown emails),
    so the answer does not tell which accounts exist.
    """
    email = normalize_email(email)
    user = authenticate(email=email, password=password)
    if not isinstance(user, User) or user.status != User.Status.ACTIVE:
        _login_failed(email=email, client=client)
        raise AuthenticationFailed(INVALID_CREDENTIALS)
    with transaction.atomic(durable=True):
        now = timezone.now()
        tokens = _session_open(user=user, client=client, now=now)
        user.last_login = now
        user.last_active_at = now
        user.save(update_fields=["last_login", "last_active_at", "updated_at"])
        events.account_event_record(
            event_type=events.AUTH_LOGIN, user_id=user.id, client=client, session_id=str(tokens.session.id)
        )
    return LoginResult(user=user, tokens=tokens)


def _login_failed(*, email: str, client: ClientInfo) -> None:
    known = User.objects.exclude(status=User.Status.DELETED).filter(email__iexact=email).first()
    if known is None:
        reason = "unknown_email"
    elif not known.is_active:
        reason = f"user_{known.status}"
    else:
        reason = "bad_password"
    with transaction.atomic(durable=True):
        events.account_event_record(
            event_type=events.AUTH_LOGIN_FAILED,
            user_id=known.id if known else None,
            client=client,
            email=email,
            reason=reason,
        )


def auth_refresh(*, refresh: str, client: ClientInfo) -> TokenPair:
    """Rotate a session's refresh token: the presented one dies, a new pair is returned.

    A validly signed refresh token that is not the session's current one was
    rotated out already: someone replayed it, so the session is revoked.
    """
    token, user_id, session_id = _refresh_token_decode(refresh)
    reused = False
    with transaction.atomic(durable=True):
        now = timezone.now()
        session = (
            UserSession.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(id=session_id, user_id=user_id)
            .first()
        )
        if session is None or not session.is_live or not session.user.is_active:
            raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
        if session.refresh_jti != token.jti:
            reused = True
            _session_revoke_reused(session=session, client=client, now=now)
        else:
            new = SessionRefreshToken.for_session(user_id=user_id, session_id=session_id)
            session.refresh_jti = new.jti
            session.expires_at = new.expires_at
            session.last_used_at = now
            session.ip_address = client.ip
            session.user_agent = client.user_agent[:USER_AGENT_MAX]
            session.save(
                update_fields=["refresh_jti", "expires_at", "last_used_at", "ip_address", "user_agent", "updated_at"]
            )
            User.objects.filter(id=user_id).update(last_active_at=now)
    if reused:
        logger.warning("refresh reuse detected: session %s of user %s revoked", session_id, user_id)
        raise AuthenticationFailed(INVALID_REFRESH_TOKEN)
    return TokenPair(access=str(new.access_token), refresh=str(new), session=session)


def _session_revoke_reused(*, session: UserSession, client: ClientInfo, now: datetime) -> None:
    revoked = _sessions_revoke(
        sessions=UserSession.objects.filter(id=session.id), reason=UserSession.RevokeReason.REFRESH_REUSE, now=now
    )
    events.account_event_record(
        event_type=events.AUTH_SESSION_REVOKED,
        user_id=session.user_id,
        client=client,
        reason=UserSession.RevokeReason.REFRESH_REUSE,
        session_ids=revoked,
    )


def auth_logout(*, refresh: str, client: ClientInfo) -> None:
    """End the session a refresh token belongs to. Ending an ended session is not an error."""
    _token, user_id, session_id = _refresh_token_decode(refresh)
    with transaction.atomic(durable=True):
        revoked = _sessions_revoke(
            sessions=UserSession.objects.filter(id=session_id, user_id=user_id),
            reason=UserSession.RevokeReason.LOGOUT,
            now=timezone.now(),
        )
        if revoked:
            events.account_event_record(
                event_type=events.AUTH_LOGOUT, user_id=user_id, client=client, scope="session", session_ids=revoked
            )


def auth_logout_all(*, user: User, client: ClientInfo) -> int:
    """End every session of the user, the calling one included."""
    with transaction.atomic(durable=True):
        revoked = _sessions_revoke(
            sessions=UserSession.objects.filter(user=user),
            reason=UserSession.RevokeReason.LOGOUT_ALL,
            now=timezone.now(),
        )
        events.account_event_record(
            event_type=events.AUTH_LOGOUT, user_id=user.id, client=client, scope="all", session_ids=revoked
        )
    return len(revoked)


def session_revoke(*, user: User, session_id: uuid.UUID | str, client: ClientInfo) -> None:
    """The user ends one of their live sessions (another user's is not found)."""
    with transaction.atomic(durable=True):
        session = session_get_live(user=user, session_id=session_id)
        revoked = _sessions_revoke(
            sessions=UserSession.objects.filter(id=session.id),
            reason=UserSession.RevokeReason.USER_REVOKED,
            now=timezone.now(),
        )
        events.account_event_record(
            event_type=events.AUTH_SESSION_REVOKED,
            user_id=user.id,
            client=client,
            reason=UserSession.RevokeReason.USER_REVOKED,
            session_ids=revoked,
        )


def user_sessions_revoke(*, user: User, actor: User, client: ClientInfo | None = None) -> int:
    """Staff end every session of a user (admin action)."""
    with transaction.atomic(durable=True):
        revoked = user_sessions_revoke_internal(
            user=user, reason=UserSession.RevokeReason.ADMIN, now=timezone.now(), client=client, actor_id=actor.id
        )
    return len(revoked)


def session_touch(*, session: UserSession, now: datetime | None = None) -> bool:
    """Note that a session (and its user) was just used, at most once per ``SESSION_TOUCH_INTERVAL``.

    Keeps authenticated reads from writing on every request. Not durable: it
    runs during authentication, possibly inside a caller's transaction.
    """
    now = now or timezone.now()
    if now - session.last_used_at < settings.SESSION_TOUCH_INTERVAL:
        return False
    with transaction.atomic():
        UserSession.objects.filter(id=session.id).update(last_used_at=now)
        User.objects.filter(id=session.user_id).update(last_active_at=now)
    session.last_used_at = now
    return True
