"""Carry the audit context from the request that publishes a task into the worker that runs it.

``before_task_publish`` snapshots the bound context into a message header;
``task_prerun`` binds it in the worker and ``task_postrun`` unbinds it, so
:func:`apps.audit.services.record` inside a task names the user, IP and request
id of the request that started it. Eager tasks (tests) run in the caller's
context and need nothing.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django_guid import clear_guid, get_guid, set_guid

from apps.audit import context

HEADER = "olympus_audit_context"
_tokens: dict[str, tuple[Token[context.AuditContext], bool]] = {}


@before_task_publish.connect(dispatch_uid="audit.attach_context")
def attach_context(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is None:
        return
    current = context.current()
    if not current.is_empty:
        headers[HEADER] = current.to_header()


@task_prerun.connect(dispatch_uid="audit.bind_context")
def bind_context(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task is None or task_id is None:
        return
    data = task.request.get(HEADER)
    if not data:
        return
    bound = context.AuditContext.from_header(data)
    set_request_id = bool(bound.request_id) and not get_guid()
    if set_request_id:
        # Log lines of the task carry the request id of the request that started it.
        set_guid(bound.request_id)
    _tokens[task_id] = (context.bind(bound), set_request_id)


@task_postrun.connect(dispatch_uid="audit.unbind_context")
def unbind_context(task_id: str | None = None, **kwargs: Any) -> None:
    entry = _tokens.pop(task_id, None) if task_id else None
    if entry is None:
        return
    token, set_request_id = entry
    context.unbind(token)
    if set_request_id:
        clear_guid()
