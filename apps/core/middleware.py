"""Request logging and the JSON envelope for errors outside DRF views."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults

from apps.core.clients import client_ip
from apps.core.exceptions import describe_exception, error_response, log_if_server_error

access_logger = logging.getLogger("olympus.access")

# Probes are hit every few seconds; they stay out of the INFO log.
QUIET_PATHS = frozenset({"/live", "/ready", "/health", "/metrics"})


USER_AGENT_MAX = 512


def access_log_level(path: str, status: int) -> int:
    """5xx at ERROR, 4xx at WARNING, the rest at INFO; probes that answer well at DEBUG."""
    if status >= 500:
        return logging.ERROR
    if status >= 400:
        return logging.WARNING
    return logging.DEBUG if path in QUIET_PATHS else logging.INFO


def response_size(response: HttpResponse) -> int | None:
    """Bytes of the body: counted when it is in memory, Content-Length (or unknown) when streamed."""
    if not response.streaming:
        return len(response.content)
    length = response.get("Content-Length")
    return int(length) if length and length.isdigit() else None


class AccessLogMiddleware:
    """One structured line per request: method, path, status, duration, size, client, user and organization."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        level = access_log_level(request.path, response.status_code)
        if not access_logger.isEnabledFor(level):
            return response
        user = getattr(request, "user", None)
        # DRF authenticates inside the view; it leaves the user on the wrapped request.
        user_id = getattr(user, "pk", None) if user is not None and user.is_authenticated else None
        access_logger.log(
            level,
            "%s %s %s %sms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "response_bytes": response_size(response),
                "client_ip": client_ip(request),
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
                "user_id": str(user_id) if user_id else None,
                "organization_id": str(getattr(request, "organization_id", "") or "") or None,
            },
        )
        return response


class ApiErrorMiddleware:
    """Errors raised by non-DRF code under /api/ get the envelope, not an HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        info = describe_exception(exception)
        log_if_server_error(exception, info)
        return error_response(info)


class PlainNotFoundMiddleware:
    """With DEBUG on (``make run``), a 404 outside /api/ is the plain page, not Django's technical one.

    The technical page lists the whole URLconf to whoever asks for a missing address. API paths keep
    their JSON envelope; with DEBUG off Django renders ``404.html`` itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not request.path.startswith("/api/")
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return defaults.page_not_found(request, Http404())
        return response
