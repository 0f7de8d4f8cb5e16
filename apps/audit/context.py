"""Who is acting, from where: the audit context of the current request or task.

:class:`AuditContextMiddleware` binds a context for each request; Celery tasks
published while it is bound carry it in a message header and bind it again in
the worker (``celery_context.py``). :func:`apps.audit.services.record` reads it,
so services never pass the request around.

The actor is resolved lazily from the request: DRF authenticates inside the
view (JWT), after the middleware ran, and writes the user back onto the
Django request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any

from django.http import HttpRequest
from django_guid import get_guid

from apps.core.clients import client_ip

USER_AGENT_MAX = 512


@dataclass(frozen=True)
class AuditContext:
    actor_id: str | None = None
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    request: HttpRequest | None = field(default=None, compare=False, repr=False)

    def resolved_actor_id(self) -> str | None:
        if self.request is not None:
            user = getattr(self.request, "user", None)
            if user is not None and user.is_authenticated:
                return str(user.pk)
        return self.actor_id

    def resolved_request_id(self) -> str:
        return self.request_id or get_guid() or ""

    def to_header(self) -> dict[str, Any]:
        """A JSON-safe snapshot for a Celery message header."""
        return {
            "actor_id": self.resolved_actor_id(),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_id": self.resolved_request_id(),
        }

    @classmethod
    def from_header(cls, data: dict[str, Any]) -> AuditContext:
        return cls(
            actor_id=data.get("actor_id") or None,
            ip=data.get("ip") or None,
            user_agent=str(data.get("user_agent") or "")[:USER_AGENT_MAX],
            request_id=str(data.get("request_id") or ""),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.resolved_actor_id() or self.ip or self.user_agent or self.resolved_request_id())


EMPTY = AuditContext()
_current: ContextVar[AuditContext] = ContextVar("olympus_audit_context", default=EMPTY)


def current() -> AuditContext:
    return _current.get()


def bind(context: AuditContext) -> Token[AuditContext]:
    return _current.set(context)


def unbind(token: Token[AuditContext]) -> None:
    _current.reset(token)


@contextlib.contextmanager
def audit_context(**values: Any) -> Iterator[AuditContext]:
    """Bind (or override parts of) the audit context for a block: commands, scripts, tests."""
    context = replace(current(), **values)
    token = bind(context)
    try:
        yield context
    finally:
        unbind(token)


def context_from_request(request: HttpRequest) -> AuditContext:
    return AuditContext(
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
        request=request,
    )
