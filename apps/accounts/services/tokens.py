"""Single-use emailed tokens: email verification and password reset, plus the purge of dead rows."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts import events
from apps.accounts.errors import INVALID_LINK
from apps.accounts.events import ClientInfo
from apps.accounts.models import AccountToken, User, UserSession
from apps.accounts.services.sessions import normalize_email, user_sessions_revoke_internal
from apps.accounts.services.users import require_password_rules
from apps.core.exceptions import ValidationError

logger = logging.getLogger("olympus.auth")


def token_lifetime(purpose: str) -> timedelta:
    if purpose == AccountToken.Purpose.PASSWORD_RESET:
        return settings.PASSWORD_RESET_TOKEN_LIFETIME
    return settings.EMAIL_VERIFICATION_TOKEN_LIFETIME


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def account_token_issue(*, user: User, purpose: str) -> str:
    """Create a token for ``purpose`` and return it; only its hash is stored.

    Earlier unused tokens of the same purpose stop working: only the latest
    email's link is valid. Not durable: the email task that calls it may run
    inside the outbox relay's transaction (eager tasks).
    """
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        AccountToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).delete()
        AccountToken.objects.create(
            user=user,
            purpose=purpose,
            token_hash=_token_hash(raw),
            created_at=now,
            expires_at=now + token_lifetime(purpose),
        )
    return raw


def _account_token_consume(*, raw: str, purpose: str, now: datetime) -> AccountToken:
    """Spend a valid token of an active user, in the caller's transaction; refuse anything else alike."""
    token = (
        AccountToken.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(
            token_hash=_token_hash(raw),
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=now,
            user__status=User.Status.ACTIVE,
        )
        .first()
    )
    if token is None:
        raise ValidationError(INVALID_LINK, details={"token": [INVALID_LINK]})
    token.used_at = now
    token.save(update_fields=["used_at", "updated_at"])
    return token


def email_verify(*, token: str, client: ClientInfo | None = None) -> User:
    """Mark the email of the token's user verified; the token dies."""
    with transaction.atomic(durable=True):
        now = timezone.now()
        user = _account_token_consume(raw=token, purpose=AccountToken.Purpose.EMAIL_VERIFICATION, now=now).user
        if user.email_verified_at is None:
            user.email_verified_at = now
            user.save(update_fields=["email_verified_at", "updated_at"])
            events.account_event_record(event_type=events.USER_EMAIL_VERIFIED, user_id=user.id, client=client)
    return user


def password_reset_request(*, email: str, client: ClientInfo | None = None) -> None:
    """Queue a reset email for this address; say nothing either way.

    The request does the same work for every address (one outbox row, no lookup): the
    email task decides whether an active user has it, so the answer's timing tells
    nothing about which addresses have accounts.
    """
    with transaction.atomic(durable=True):
        events.account_event_record(
            event_type=events.AUTH_PASSWORD_RESET_REQUESTED,
            user_id=None,
            client=client,
            email=normalize_email(email),
        )


def password_reset_confirm(*, token: str, new_password: str, client: ClientInfo | None = None) -> User:
    """Set a new password with an emailed token; the token dies and every session ends.

    The token proves the user reads the address, so an unverified email becomes verified.
    """
    with transaction.atomic(durable=True):
        now = timezone.now()
        account_token = _account_token_consume(raw=token, purpose=AccountToken.Purpose.PASSWORD_RESET, now=now)
        user = account_token.user
        # A refused password rolls back the consumption: the link stays usable for another try.
        require_password_rules(password=new_password, user=user, field="new_password")
        user.set_password(new_password)
        update_fields = ["password", "updated_at"]
        if user.email_verified_at is None:
            user.email_verified_at = now
            update_fields.append("email_verified_at")
        user.save(update_fields=update_fields)
        AccountToken.objects.filter(user=user, purpose=account_token.purpose, used_at__isnull=True).delete()
        revoked = user_sessions_revoke_internal(
            user=user, reason=UserSession.RevokeReason.PASSWORD_RESET, now=now, client=client
        )
        events.account_event_record(
            event_type=events.AUTH_PASSWORD_RESET, user_id=user.id, client=client, sessions_revoked=len(revoked)
        )
    return user


def accounts_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete sessions and tokens that ended (revoked, expired or used) more than ``ACCOUNTS_RETENTION`` ago."""
    cutoff = (now or timezone.now()) - settings.ACCOUNTS_RETENTION
    with transaction.atomic(durable=True):
        sessions, _ = UserSession.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)).delete()
        tokens, _ = AccountToken.objects.filter(Q(used_at__lt=cutoff) | Q(expires_at__lt=cutoff)).delete()
    return {"sessions": sessions, "tokens": tokens}
