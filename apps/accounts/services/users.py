"""Who a user is: registration, profile, password change, suspension."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts import events
from apps.accounts.events import ClientInfo
from apps.accounts.models import User, UserSession
from apps.accounts.services.sessions import normalize_email, user_sessions_revoke_internal
from apps.core.exceptions import Conflict, ValidationError

# The only fields a user may change about themselves.
PROFILE_FIELDS = ("full_name", "display_name", "avatar_url", "phone", "bio", "preferences")
# What every registration answers, whether the address was free or taken.
REGISTRATION_ACCEPTED = "Thanks: we have sent an email to this address; follow it to finish signing up."
EMAIL_CONSTRAINT = "accounts_user_email_ci_unique"


def password_rule_failures(*, password: str, user: User) -> list[str]:
    """One message per password rule the password breaks (``AUTH_PASSWORD_VALIDATORS``)."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        return list(exc.messages)
    return []


def require_password_rules(*, password: str, user: User, field: str) -> None:
    failures = password_rule_failures(password=password, user=user)
    if failures:
        raise ValidationError("The password does not meet the password rules.", details={field: failures})


def user_register(*, email: str, password: str, full_name: str, client: ClientInfo | None = None) -> User | None:
    """Create an active, not yet verified user; a verification email follows (``user.registered``).

    The email is stored lower-cased and is unique among users that are not deleted.
    Whether the address is taken is never told to the caller (no account enumeration):
    the same rules are checked and the same password hashing done either way, and a
    taken address gets a "someone tried to sign up with your address" email instead
    (``user.registration_attempted``). Returns the new user, or None when the address
    was taken; doors answer the same for both.
    """
    user = User(email=normalize_email(email), full_name=full_name.strip())
    user.set_status(User.Status.ACTIVE)
    failures = password_rule_failures(password=password, user=user)
    if failures:
        raise ValidationError(details={"password": failures})
    user.set_password(password)  # hashed whether or not the address is taken: the same work either way
    user.full_clean(exclude=["password"], validate_constraints=False)
    existing = User.objects.exclude(status=User.Status.DELETED).filter(email__iexact=user.email).first()
    if existing is None:
        try:
            with transaction.atomic(durable=True):
                user.save(force_insert=True)
                events.account_event_record(event_type=events.USER_REGISTERED, user_id=user.id, client=client)
        except IntegrityError as exc:
            if EMAIL_CONSTRAINT not in str(exc):
                raise
            # A concurrent registration won the race: the same answer as a taken address.
            existing = User.objects.exclude(status=User.Status.DELETED).get(email__iexact=user.email)
        else:
            return user
    with transaction.atomic(durable=True):
        events.account_event_record(event_type=events.USER_REGISTRATION_ATTEMPTED, user_id=existing.id, client=client)
    return None


def user_update_profile(*, user: User, data: dict[str, Any], client: ClientInfo | None = None) -> User:
    """Change profile fields only; anything else (email, status, staff flags, ids) is refused."""
    refused = sorted(set(data) - set(PROFILE_FIELDS))
    if refused:
        raise ValidationError(details={field: ["This field cannot be changed."] for field in refused})
    changed = [field for field in PROFILE_FIELDS if field in data and getattr(user, field) != data[field]]
    if not changed:
        return user
    for field in changed:
        setattr(user, field, data[field])
    user.full_clean(exclude=["password"], validate_constraints=False)
    with transaction.atomic(durable=True):
        user.save(update_fields=[*changed, "updated_at"])
        events.account_event_record(
            event_type=events.USER_UPDATED, user_id=user.id, client=client, changed_fields=changed
        )
    return user


def user_change_password(
    *,
    user: User,
    current_password: str,
    new_password: str,
    current_session_id: uuid.UUID | None,
    client: ClientInfo | None = None,
) -> int:
    """Replace the password after proving the current one; every other session ends.

    Returns how many sessions were revoked.
    """
    if not user.check_password(current_password):
        raise ValidationError(details={"current_password": ["The current password is not correct."]})
    if new_password == current_password:
        raise ValidationError(details={"new_password": ["The new password must differ from the current one."]})
    require_password_rules(password=new_password, user=user, field="new_password")
    with transaction.atomic(durable=True):
        now = timezone.now()
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        revoked = user_sessions_revoke_internal(
            user=user,
            reason=UserSession.RevokeReason.PASSWORD_CHANGED,
            now=now,
            client=client,
            keep_session_id=current_session_id,
        )
        events.account_event_record(
            event_type=events.AUTH_PASSWORD_CHANGED, user_id=user.id, client=client, sessions_revoked=len(revoked)
        )
    return len(revoked)


def user_suspend(*, user: User, actor: User, client: ClientInfo | None = None) -> User:
    """Suspend a user: they cannot sign in and every session ends at once."""
    if user.pk == actor.pk:
        raise Conflict("You cannot suspend yourself.")
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.status == User.Status.DELETED:
            raise Conflict("A deleted user cannot be suspended.")
        if user.status != User.Status.SUSPENDED:
            previous = user.status
            user.set_status(User.Status.SUSPENDED)
            user.save(update_fields=["status", "is_active", "updated_at"])
            events.account_event_record(
                event_type=events.USER_SUSPENDED,
                user_id=user.id,
                actor_id=actor.id,
                client=client,
                previous_status=previous,
            )
        # Also when already suspended: a session opened by other means must not survive.
        user_sessions_revoke_internal(
            user=user, reason=UserSession.RevokeReason.SUSPENDED, now=timezone.now(), client=client, actor_id=actor.id
        )
    return user


def user_reactivate(*, user: User, actor: User, client: ClientInfo | None = None) -> User:
    """Let a suspended or inactive user sign in again (their old sessions stay ended)."""
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.status == User.Status.DELETED:
            raise Conflict("A deleted user cannot be reactivated.")
        if user.status != User.Status.ACTIVE:
            previous = user.status
            user.set_status(User.Status.ACTIVE)
            user.save(update_fields=["status", "is_active", "updated_at"])
            events.account_event_record(
                event_type=events.USER_REACTIVATED,
                user_id=user.id,
                actor_id=actor.id,
                client=client,
                previous_status=previous,
            )
    return user


def email_verification_request(*, user: User, client: ClientInfo | None = None) -> None:
    """Mail the user a new verification link (the previous one stops working)."""
    if user.is_email_verified:
        raise Conflict("The email address is already verified.")
    with transaction.atomic(durable=True):
        events.account_event_record(event_type=events.USER_EMAIL_VERIFICATION_REQUESTED, user_id=user.id, client=client)
