"""Reads shared by the API, authentication, tasks and admin."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from apps.accounts.models import User, UserSession
from apps.core.db import CompiledSelect
from apps.core.exceptions import NotFound


def user_get_active_by_email(*, email: str) -> User | None:
    """The active user who signs in with ``email`` (any case), if any."""
    return User.objects.filter(email__iexact=email.strip(), status=User.Status.ACTIVE).first()


def user_get_active(*, user_id: uuid.UUID | str) -> User | None:
    return User.objects.filter(id=user_id, status=User.Status.ACTIVE).first()


def session_list_live(*, user: User) -> QuerySet[UserSession]:
    """The user's sessions that can still be used: not revoked, refresh token not expired."""
    return UserSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def session_get_live(*, user: User, session_id: uuid.UUID | str) -> UserSession:
    """One of the user's live sessions; another user's session is not found, like a missing one."""
    session = session_list_live(user=user).filter(id=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    return session


# Every authenticated request runs it: compiled once (apps/core/db.py), the clock is the database's.
_SESSION_FOR_AUTHENTICATION = CompiledSelect(
    lambda session_id, user_id: UserSession.objects.select_related("user").filter(
        id=session_id, user_id=user_id, revoked_at__isnull=True, expires_at__gt=Now()
    ),
    "session_id",
    "user_id",
)


def session_get_for_authentication(*, user_id: uuid.UUID, session_id: uuid.UUID) -> UserSession | None:
    """The live session an access token names, with its user, in one query."""
    session: UserSession | None = _SESSION_FOR_AUTHENTICATION(session_id=session_id, user_id=user_id)
    return session
