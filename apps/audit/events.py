"""Audit rows for the accounts app's authentication events (organization: none).

The accounts service publishes ``auth.*`` events with ``user_id``, ``ip`` and
``user_agent`` in the payload. Outbox delivery is at least once, so each row
remembers its event id and a redelivery writes nothing.
"""

from __future__ import annotations

from typing import Any

from apps.audit.models import AuditLog
from apps.audit.services import record
from apps.core.events import event_handler
from apps.core.models import OutboxEvent

AUTH_EVENTS = (
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "auth.password_changed",
    "auth.password_reset",
    "auth.session_revoked",
)
_CONTEXT_KEYS = {"user_id", "ip", "user_agent", "request_id"}


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
        actor=user_id,
        ip=payload.get("ip") or None,
        user_agent=payload.get("user_agent") or "",
        request_id=payload.get("request_id") or "",
        created_at=event.created_at,
        event_id=event.id,
    )


for _event_type in AUTH_EVENTS:
    event_handler(_event_type)(record_auth_event)
