"""GraphQL errors in the REST envelope's terms: ``extensions.code`` and ``extensions.details``.

Every error a resolver raises goes through :func:`apps.core.exceptions.describe_exception`
(the function behind the REST envelope), so a rule that answers ``NOT_FOUND``,
``FORBIDDEN`` or ``INSUFFICIENT_STOCK`` over REST answers the same code here.
Documents rejected before execution (syntax, unknown fields, bad variables,
depth, aliases, token count) are ``VALIDATION_ERROR``; a document over the cost
limit is ``QUERY_TOO_COSTLY`` with its cost in the details. Server errors say
nothing about their cause (no stack traces, no exception text); they are
logged with the request id.
"""

from __future__ import annotations

import os
from typing import Any

from django_guid import get_guid
from graphql import GraphQLError
from strawberry.utils.str_converters import to_camel_case

from apps.core.exceptions import ErrorInfo, describe_exception, log_if_server_error

# Relay cursor code raises ValueError for a malformed cursor or page argument: a client mistake, not a bug.
_RELAY_MODULES = (f"{os.sep}strawberry{os.sep}relay{os.sep}", f"{os.sep}strawberry_django{os.sep}relay{os.sep}")


def _raised_by_relay_code(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and any(module in frame.tb_frame.f_code.co_filename for module in _RELAY_MODULES)


def _describe(original: BaseException) -> ErrorInfo:
    if isinstance(original, ValueError) and _raised_by_relay_code(original):
        return ErrorInfo(400, "VALIDATION_ERROR", "Invalid cursor or page argument.", {"detail": str(original)})
    return describe_exception(original)


def _camelize_fields(details: Any) -> Any:
    """Field errors name the GraphQL input fields (``priceCents``), not the Python ones."""
    if not isinstance(details, dict):
        return details
    return {to_camel_case(str(key)): value for key, value in details.items()}


def error_info(error: GraphQLError) -> ErrorInfo:
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if original is None or isinstance(original, GraphQLError):
        # Rejected by parsing or validation, or a GraphQL-level error with its own message.
        extensions = error.extensions or {}
        return ErrorInfo(
            400, extensions.get("code") or "VALIDATION_ERROR", error.message, extensions.get("details") or {}
        )
    info = _describe(original)
    log_if_server_error(original, info)
    return info


def format_error(error: GraphQLError) -> dict[str, Any]:
    """One error as the client sees it: message, locations, path and the envelope's code and details."""
    info = error_info(error)
    details = _camelize_fields(info.details) if info.code == "VALIDATION_ERROR" else info.details
    formatted: dict[str, Any] = {"message": info.message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = error.path
    formatted["extensions"] = {"code": info.code, "details": _json_safe(details), "requestId": get_guid()}
    return formatted


def _json_safe(value: Any) -> Any:
    # DRF's ErrorDetail is a str subclass; plain types keep the response encoder simple.
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def error_payload(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """A whole response body for a request refused before any operation ran (HTTP-level errors)."""
    return {
        "data": None,
        "errors": [
            {"message": message, "extensions": {"code": code, "details": details or {}, "requestId": get_guid()}}
        ],
    }
