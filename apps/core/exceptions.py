"""Domain errors and the one place that turns any error into the API envelope.

Services raise :class:`ApplicationError` subclasses (never DRF or HTTP errors);
:func:`api_exception_handler` (DRF), the API error middleware and the 404/500
handlers all build their bodies with :func:`error_response`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core import exceptions as django_exceptions
from django.http import Http404, JsonResponse
from django_guid import get_guid
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import set_rollback

from apps.core import tracing
from apps.core.outages import is_dependency_down

logger = logging.getLogger("olympus.errors")


class ApplicationError(Exception):
    """A business rule said no. ``code`` is the envelope code, ``http_status`` its status."""

    code = "APPLICATION_ERROR"
    http_status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationError(ApplicationError):
    code = "VALIDATION_ERROR"
    http_status = 400
    default_message = "The request is not valid."


class PermissionDenied(ApplicationError):
    code = "FORBIDDEN"
    http_status = 403
    default_message = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    http_status = 404
    default_message = "Not found."


class Conflict(ApplicationError):
    code = "CONFLICT"
    http_status = 409
    default_message = "The request conflicts with the current state."


class PlanLimitReached(ApplicationError):
    code = "PLAN_LIMIT_REACHED"
    http_status = 402
    default_message = "Your plan's limit has been reached."


class FeatureNotInPlan(ApplicationError):
    code = "FEATURE_NOT_IN_PLAN"
    http_status = 402
    default_message = "Your plan does not include this feature."


class IdempotencyKeyReused(ApplicationError):
    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422
    default_message = "This Idempotency-Key was used with a different request."


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    default_message = "The service is temporarily unavailable."


# Codes by status for errors that carry only a status (DRF, Django).
CODE_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    402: "PLAN_LIMIT_REACHED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "IDEMPOTENCY_KEY_REUSED",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
ERROR_CODES = sorted(set(CODE_BY_STATUS.values()) | {"FEATURE_NOT_IN_PLAN", "INSUFFICIENT_STOCK", "INVALID_TRANSITION"})


@dataclass
class ErrorInfo:
    status: int
    code: str
    message: str
    details: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _drf_message(detail: Any, fallback: str) -> str:
    if isinstance(detail, str):
        return detail
    return fallback


def _retry_after() -> dict[str, str]:
    from django.conf import settings

    return {"Retry-After": str(settings.DEPENDENCY_RETRY_AFTER_SECONDS)}


def describe_exception(exc: BaseException) -> ErrorInfo:
    """Map any exception to status, code, message and details (no internals for 5xx)."""
    if isinstance(exc, ServiceUnavailable):
        return ErrorInfo(exc.http_status, exc.code, exc.message, exc.details, _retry_after())
    if isinstance(exc, ApplicationError):
        return ErrorInfo(exc.http_status, exc.code, exc.message, exc.details)
    if is_dependency_down(exc):
        return ErrorInfo(
            503,
            "SERVICE_UNAVAILABLE",
            "A service this request needs is temporarily unavailable; retry shortly.",
            {},
            _retry_after(),
        )
    if isinstance(exc, django_exceptions.RequestDataTooBig):
        return ErrorInfo(413, "PAYLOAD_TOO_LARGE", "The request body is too large.")
    if isinstance(exc, Http404 | django_exceptions.ObjectDoesNotExist):
        return ErrorInfo(404, "NOT_FOUND", "Not found.")
    if isinstance(exc, django_exceptions.PermissionDenied):
        return ErrorInfo(403, "FORBIDDEN", "You do not have permission to perform this action.")
    if isinstance(exc, django_exceptions.ValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return ErrorInfo(400, "VALIDATION_ERROR", "The request is not valid.", details)
    if isinstance(exc, drf_exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return ErrorInfo(400, "VALIDATION_ERROR", "The request is not valid.", details)
    if isinstance(exc, drf_exceptions.ParseError):
        return ErrorInfo(400, "VALIDATION_ERROR", _drf_message(exc.detail, "Malformed request body."))
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait) if exc.wait is not None else 1
        return ErrorInfo(
            429,
            "RATE_LIMIT_EXCEEDED",
            "Too many requests; retry later.",
            {"retry_after_seconds": wait},
            {"Retry-After": str(max(wait, 1))},
        )
    if isinstance(exc, drf_exceptions.APIException):
        status = exc.status_code
        code = CODE_BY_STATUS.get(status, "ERROR")
        return ErrorInfo(status, code, _drf_message(exc.detail, str(exc.default_detail)))
    return ErrorInfo(500, "INTERNAL_ERROR", "An internal error occurred; it has been logged.")


def error_body(info: ErrorInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": info.code,
        "message": info.message,
        "details": info.details,
        "request_id": get_guid(),
    }
    trace_id = tracing.current_trace_id()
    if trace_id is not None:  # tracing on: the trace to look up, beside the request id
        body["trace_id"] = trace_id
    return {"error": body}


def error_response(info: ErrorInfo) -> JsonResponse:
    response = JsonResponse(error_body(info), status=info.status)
    for name, value in info.headers.items():
        response[name] = value
    return response


def log_if_server_error(exc: BaseException, info: ErrorInfo) -> None:
    if info.status == 503 and is_dependency_down(exc):
        # An outage, not a bug: one line per request, no traceback.
        logger.warning("dependency unavailable: %s: %s", type(exc).__name__, exc)
    elif info.status >= 500:
        logger.error("unhandled error: %s", type(exc).__name__, exc_info=exc)


def api_exception_handler(exc: Exception, context: dict[str, Any]):
    """DRF's EXCEPTION_HANDLER: every error in a DRF view becomes the envelope."""
    from rest_framework.response import Response

    info = describe_exception(exc)
    log_if_server_error(exc, info)
    set_rollback()
    headers = dict(info.headers)
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        request = context.get("request")
        view = context.get("view")
        if view is not None and request is not None:
            authenticate_header = view.get_authenticate_header(request)
            if authenticate_header:
                headers["WWW-Authenticate"] = authenticate_header
    return Response(error_body(info), status=info.status, headers=headers)
