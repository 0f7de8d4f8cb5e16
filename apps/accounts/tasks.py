"""Emails (queue ``emails``) and the nightly purge. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.dateparse import parse_datetime

from apps.accounts import emails, selectors
from apps.accounts.models import AccountToken

logger = logging.getLogger("olympus.accounts.tasks")

# Sending can fail for a while (SMTP down, DNS, timeouts: all OSError); retried with backoff and jitter.
EMAIL_TASK_OPTIONS = {"acks_late": True, "autoretry_for": (OSError,), "retry_backoff": True, "retry_jitter": True}


@shared_task(**EMAIL_TASK_OPTIONS)
def send_verification_email(user_id: str) -> bool:
    """Mail a fresh verification link (earlier unused ones stop working). Skipped once verified."""
    from apps.accounts import services

    user = selectors.user_get_active(user_id=user_id)
    if user is None or user.is_email_verified:
        return False
    token = services.account_token_issue(user=user, purpose=AccountToken.Purpose.EMAIL_VERIFICATION)
    emails.email_send(
        name="verify_email",
        to=user.email,
        subject="Confirm your email address",
        context={
            "user": user,
            "link": emails.frontend_link("/verify-email", token=token),
            "valid_hours": int(
                services.token_lifetime(AccountToken.Purpose.EMAIL_VERIFICATION).total_seconds() // 3600
            ),
        },
    )
    return True


@shared_task(**EMAIL_TASK_OPTIONS)
def send_password_reset_email(user_id: str) -> bool:
    """Mail a single-use password reset link (earlier unused ones stop working)."""
    from apps.accounts import services

    user = selectors.user_get_active(user_id=user_id)
    if user is None:
        return False
    token = services.account_token_issue(user=user, purpose=AccountToken.Purpose.PASSWORD_RESET)
    emails.email_send(
        name="password_reset",
        to=user.email,
        subject="Reset your password",
        context={
            "user": user,
            "link": emails.frontend_link("/reset-password", token=token),
            "valid_minutes": int(services.token_lifetime(AccountToken.Purpose.PASSWORD_RESET).total_seconds() // 60),
        },
    )
    return True


@shared_task(**EMAIL_TASK_OPTIONS)
def send_password_reset_email_to_address(email: str) -> bool:
    """Mail a reset link when an active user has ``email``; nothing otherwise (the request said nothing)."""
    user = selectors.user_get_active_by_email(email=email)
    if user is None:
        logger.info("password reset requested for an address with no active user")
        return False
    return bool(send_password_reset_email(str(user.id)))


@shared_task(**EMAIL_TASK_OPTIONS)
def send_registration_attempt_email(user_id: str) -> bool:
    """Tell the owner of an address that someone tried to sign up with it."""
    user = selectors.user_get_active(user_id=user_id)
    if user is None:
        return False
    emails.email_send(
        name="registration_attempt",
        to=user.email,
        subject="Someone tried to sign up with your address",
        context={
            "user": user,
            "login_link": emails.frontend_link("/login"),
            "reset_link": emails.frontend_link("/forgot-password"),
        },
    )
    return True


@shared_task(**EMAIL_TASK_OPTIONS)
def send_password_changed_email(user_id: str, changed_at: str) -> bool:
    """Tell the user their password changed, with a way back in if it was not them."""
    user = selectors.user_get_active(user_id=user_id)
    if user is None:
        return False
    emails.email_send(
        name="password_changed",
        to=user.email,
        subject="Your password was changed",
        context={
            "user": user,
            "changed_at": parse_datetime(changed_at),
            "reset_link": emails.frontend_link("/forgot-password"),
        },
    )
    return True


@shared_task(acks_late=True)
def accounts_purge() -> dict[str, int]:
    """Beat (daily, queue ``maintenance``): drop dead sessions and tokens past retention."""
    from apps.accounts import services

    return services.accounts_purge()
