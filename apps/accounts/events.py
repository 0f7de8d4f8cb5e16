"""Events the accounts app publishes, and the handlers that mail users about them.

Every auth event goes to the outbox (the audit app subscribes to it) and to the
``olympus.auth`` log, with the actor, IP and user agent: never a password or a
token. Emails hang off the outbox too, so a registration committed while Redis
or the worker is down still gets its email once they are back.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from apps.accounts import tasks
from apps.core.events import event_handler, publish_event
from apps.core.models import OutboxEvent

logger = logging.getLogger("olympus.auth")

AUTH_LOGIN = "auth.login"
AUTH_LOGIN_FAILED = "auth.login_failed"
AUTH_LOGOUT = "auth.logout"
AUTH_PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an event name
AUTH_PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"  # noqa: S105 - an event name
AUTH_PASSWORD_RESET = "auth.password_reset"  # noqa: S105 - an event name
AUTH_SESSION_REVOKED = "auth.session_revoked"
USER_REGISTERED = "user.registered"
# Someone tried to register an address that already has an account: its owner is told, the caller is not.
USER_REGISTRATION_ATTEMPTED = "user.registration_attempted"
USER_UPDATED = "user.updated"
USER_EMAIL_VERIFICATION_REQUESTED = "user.email_verification_requested"
USER_EMAIL_VERIFIED = "user.email_verified"
USER_SUSPENDED = "user.suspended"
USER_REACTIVATED = "user.reactivated"


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from; recorded on sessions and auth events."""

    ip: str | None = None
    user_agent: str = ""


def _id(value: uuid.UUID | str | None) -> str | None:
    return str(value) if value else None


def account_event_record(
    *,
    event_type: str,
    user_id: uuid.UUID | str | None,
    client: ClientInfo | None = None,
    actor_id: uuid.UUID | str | None = None,
    **facts: Any,
) -> OutboxEvent:
    """Publish an account event in the caller's transaction and log it.

    ``user_id`` is whose account it is; ``actor_id`` who acted (the user
    themselves unless staff did it). ``facts`` must never hold secrets.
    """
    client = client or ClientInfo()
    payload = {
        "user_id": _id(user_id),
        "actor_id": _id(actor_id) or _id(user_id),
        "ip": client.ip,
        "user_agent": client.user_agent,
        **facts,
    }
    event = publish_event(event_type=event_type, payload=payload)
    logger.info(
        "%s user=%s actor=%s ip=%s",
        event_type,
        payload["user_id"],
        payload["actor_id"],
        client.ip,
        extra={"event_type": event_type, "user_agent": client.user_agent, **facts},
    )
    return event


# --- handlers: emails -----------------------------------------------------------------
# They enqueue (idempotent) email tasks; a broker error fails the handler and the outbox retries.


@event_handler(USER_REGISTERED)
@event_handler(USER_EMAIL_VERIFICATION_REQUESTED)
def send_verification_email_on_request(event: OutboxEvent) -> None:
    tasks.send_verification_email.delay(event.payload["user_id"])


@event_handler(AUTH_PASSWORD_RESET_REQUESTED)
def send_password_reset_email_on_request(event: OutboxEvent) -> None:
    if event.payload.get("email"):  # the task looks the address up (no lookup on the request)
        tasks.send_password_reset_email_to_address.delay(event.payload["email"])
    elif event.payload.get("user_id"):  # events written before the address form
        tasks.send_password_reset_email.delay(event.payload["user_id"])


@event_handler(USER_REGISTRATION_ATTEMPTED)
def send_registration_attempt_notice(event: OutboxEvent) -> None:
    tasks.send_registration_attempt_email.delay(event.payload["user_id"])


@event_handler(AUTH_PASSWORD_CHANGED)
@event_handler(AUTH_PASSWORD_RESET)
def send_password_changed_notice(event: OutboxEvent) -> None:
    tasks.send_password_changed_email.delay(event.payload["user_id"], event.created_at.isoformat())
