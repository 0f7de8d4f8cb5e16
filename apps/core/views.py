"""Probes (/live, /ready, /health) and the JSON 404/500 for API paths."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from apps.core.exceptions import ErrorInfo, error_response

logger = logging.getLogger("olympus.health")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("health:ping", "pong", timeout=10)
    if cache.get("health:ping") != "pong":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    from olympus.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_migrations() -> None:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied")


def _probe(checks: dict[str, Callable[[], None]]) -> JsonResponse:
    """200 when every check passes, else 503; per-check status and duration either way."""
    results: dict[str, dict[str, object]] = {}
    healthy = True
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # a probe reports failures, it never raises them
            healthy = False
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            # The exception type only: probe output is public, internals are not.
            results[name] = {"status": "error", "error": type(exc).__name__}
        else:
            results[name] = {"status": "ok"}
        results[name]["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
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
    """Every dependency, one by one: database, cache, Celery broker, migrations."""
    return _probe(
        {
            "database": _check_database,
            "cache": _check_cache,
            "broker": _check_broker,
            "migrations": _check_migrations,
        }
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return error_response(ErrorInfo(404, "NOT_FOUND", f"No API endpoint at {request.path}."))


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return error_response(ErrorInfo(404, "NOT_FOUND", "Not found."))
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return error_response(ErrorInfo(500, "INTERNAL_ERROR", "An internal error occurred; it has been logged."))
    return defaults.server_error(request)
