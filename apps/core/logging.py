"""JSON log lines and the redaction every handler applies.

Secrets never reach a log line: values under sensitive keys (password, token,
authorization, cookie, secret, ...) are replaced wherever they appear, in
``extra`` fields, in dict/tuple arguments and inside the rendered message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from apps.core import tracing

REDACTED = "[REDACTED]"
SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authorization|cookie|api[_-]?key|session|csrf|signature|card|cvc",
    re.IGNORECASE,
)
# key=value, key: value, "key": "value" and HTTP auth schemes inside free text.
_INLINE = re.compile(
    r"""(?P<key>["']?\b[\w-]*(?:pass(?:word|wd)?|secret|token|authorization|cookie|api[_-]?key)[\w-]*\b["']?)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<value>"[^"]*"|'[^']*'|(?:Bearer|Basic|Token)\s+\S+|[^\s,;&}]+)""",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


# Deeper structures are cut here (input is limited to JSON_MAX_DEPTH levels; this bounds anything else).
REDACT_MAX_DEPTH = 100
TOO_DEEP = "[TOO DEEP]"


def redact(value: Any, *, key: str | None = None, _depth: int = 0) -> Any:
    """``value`` with secrets replaced; containers nested beyond ``REDACT_MAX_DEPTH`` become ``[TOO DEEP]``."""
    if key is not None and SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, dict | list | tuple) and _depth >= REDACT_MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {k: redact(v, key=str(k), _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, _depth=_depth + 1) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    text = _INLINE.sub(lambda m: f"{m['key']}{m['sep']}{_quoted_redaction(m['value'])}", text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def _quoted_redaction(value: str) -> str:
    if value[:1] in {'"', "'"}:
        return f"{value[0]}{REDACTED}{value[0]}"
    return REDACTED


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = redact_text(record.getMessage())
            record.args = None
        elif isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        for name, value in list(vars(record).items()):
            if name not in _RESERVED:
                setattr(record, name, redact(value, key=name))
        return True


class ServiceFilter(logging.Filter):
    """``service``, ``version`` and ``environment`` on every line, web and worker; with tracing on,
    the ``trace_id`` and ``span_id`` of the span the line was logged in (issue 17)."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._fields: tuple[str, str, str] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self._fields is None:
            from django.conf import settings

            self._fields = (settings.SERVICE_NAME, settings.SERVICE_VERSION, settings.ENVIRONMENT)
        record.service, record.version, record.environment = self._fields
        ids = tracing.current_ids()
        if ids is not None:
            record.trace_id, record.span_id = ids
        return True


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)
