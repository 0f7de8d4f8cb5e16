"""Audit rows for the accounts app's authentication and account-status events (organization: none).

The accounts service publishes ``auth.*`` and ``user.*`` events with
``user_id``, ``actor_id``, ``ip`` and ``user_agent`` in the payload (the event
names are the accounts app's constants, never copies). Outbox delivery is at
least once, so each row remembers its event id and a redelivery writes nothing.
"""

from __future__ import annotations

from typing import Any

from apps.accounts import events as account_events
from apps.audit.models import AuditLog
from apps.audit.services import record
from apps.core.events import event_handler
from apps.core.models import OutboxEvent

AUTH_EVENTS = (
    account_events.AUTH_LOGIN,
    account_events.AUTH_LOGIN_FAILED,
    account_events.AUTH_LOGOUT,
    account_events.AUTH_PASSWORD_CHANGED,
    account_events.AUTH_PASSWORD_RESET,
    account_events.AUTH_SESSION_REVOKED,
    account_events.USER_SUSPENDED,
    account_events.USER_REACTIVATED,
)
_CONTEXT_KEYS = {"user_id", "actor_id", "ip", "user_agent", "request_id"}


def record_auth_event(event: OutboxEvent) -> None:
    if AuditLog.objects.filter(event_id=event.id, created_at=event.created_at).exists():
        return
    payload: dict[str, Any] = event.payload or {}
    user_id = payload.get("user_id") or None
    details = {key: value for key, value in payload.items() if key not in _CONTEXT_KEYS}
    record(
        action=event.event_type,
        resource_type="user",
        resource_id=user_id or "",
        organization=None,
        new_values=details or None,
        actor=payload.get("actor_id") or user_id,  # staff who suspended someone, else the user
        ip=payload.get("ip") or None,
        user_agent=payload.get("user_agent") or "",
        request_id=payload.get("request_id") or "",
        created_at=event.created_at,
        event_id=event.id,
    )


for _event_type in AUTH_EVENTS:
    event_handler(_event_type)(record_auth_event)
