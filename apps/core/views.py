"""Probes (/live, /ready, /health), the JSON 404/500 for API paths, and the home page."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_prometheus.exports import ExportToDjangoView

from apps.core import health as health_checks
from apps.core.exceptions import ErrorInfo, error_response
from apps.core.health import Degraded

logger = logging.getLogger("olympus.health")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("health:ping", "pong", timeout=10)
    if cache.get("health:ping") != "pong":
        raise RuntimeError("cache did not return what was written")


def _probe(checks: dict[str, Callable[[], object]]) -> JsonResponse:
    """200 when every check passes or is only degraded, else 503; per-check status and duration either way."""
    results: dict[str, dict[str, object]] = {}
    healthy = True
    degraded = False
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            info = check()
        except Degraded as exc:
            degraded = True
            results[name] = {"status": "degraded", "reason": str(exc), **exc.details}
        except Exception as exc:  # a probe reports failures, it never raises them
            healthy = False
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            # The exception type only: probe output is public, internals are not.
            results[name] = {"status": "error", "error": type(exc).__name__}
        else:
            results[name] = {"status": "ok", **(info if isinstance(info, dict) else {})}
        results[name]["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    overall = "unavailable" if not healthy else "degraded" if degraded else "ok"
    body = {"status": overall, "checks": results}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@csrf_exempt
def live(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


@never_cache
@csrf_exempt
def ready(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database and Redis answer."""
    return _probe({"database": _check_database, "cache": _check_cache})


@never_cache
@csrf_exempt
def health(request: HttpRequest) -> JsonResponse:
    """Every dependency within ``HEALTH_TIMEOUT_SECONDS`` (see ``apps.core.health``): 200 or 503.

    A missing worker or a queue above the threshold makes the answer "degraded"
    (still 200: the web tier serves); a failing or hung dependency makes it 503.
    Anonymous callers see the overall status only; ``HEALTH_TOKEN`` or staff see every check.
    """
    healthy, results = health_checks.run_checks()
    degraded = any(result["status"] == "degraded" for result in results.values())
    body: dict[str, object] = {"status": "unavailable" if not healthy else "degraded" if degraded else "ok"}
    if health_checks.may_see_details(request):
        body["checks"] = results
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@csrf_exempt
def metrics(request: HttpRequest) -> HttpResponse:
    """django-prometheus's exposition, behind ``METRICS_TOKEN`` (Bearer) or ``METRICS_BASIC_AUTH``."""
    if not health_checks.may_scrape(request):
        response = error_response(ErrorInfo(401, "UNAUTHORIZED", "Metrics need a token or basic credentials."))
        response["WWW-Authenticate"] = 'Basic realm="metrics"'
        return response
    return ExportToDjangoView(request)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return error_response(ErrorInfo(404, "NOT_FOUND", f"No API endpoint at {request.path}."))


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return error_response(ErrorInfo(404, "NOT_FOUND", "Not found."))
    return defaults.page_not_found(request, exception)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own 400s (a Host header we do not serve, a malformed request) in the envelope."""
    if _wants_json(request):
        return error_response(ErrorInfo(400, "VALIDATION_ERROR", "Bad request."))
    return defaults.bad_request(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return error_response(ErrorInfo(500, "INTERNAL_ERROR", "An internal error occurred; it has been logged."))
    return defaults.server_error(request)


def home(request: HttpRequest) -> HttpResponse:
    """``/``: where the admin's "View site" and a browser pointed at the server land."""
    return render(request, "pages/home.html")
