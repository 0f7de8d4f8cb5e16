"""Probes (/live, /ready, /health) and the JSON 404/500 for API paths."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
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


class Degraded(Exception):
    """A check that works but reports trouble short of an outage (no worker, a queue backing up)."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


def _check_workers() -> dict[str, object]:
    """At least one Celery worker answers a ping over the broker."""
    from olympus.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        replies = app.control.ping(timeout=settings.HEALTH_WORKER_PING_TIMEOUT, connection=conn)
    if not replies:
        raise Degraded("no worker answered", workers=0)
    return {"workers": len(replies)}


def _check_queues() -> dict[str, object]:
    """Messages waiting per queue; degraded above ``HEALTH_QUEUE_DEPTH_THRESHOLD``."""
    from apps.jobs.metrics import queue_depths

    depths = queue_depths()
    backed_up = sorted(name for name, depth in depths.items() if depth > settings.HEALTH_QUEUE_DEPTH_THRESHOLD)
    if backed_up:
        raise Degraded(f"backed up: {', '.join(backed_up)}", depths=depths)
    return {"depths": depths}


def _check_migrations() -> None:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied")


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
    """Every dependency, one by one: database, cache, Celery broker, migrations; then workers and queues.

    A missing worker or a queue above the threshold makes the answer "degraded"
    (still 200: the web tier serves); a failing dependency makes it 503.
    """
    return _probe(
        {
            "database": _check_database,
            "cache": _check_cache,
            "broker": _check_broker,
            "migrations": _check_migrations,
            "workers": _check_workers,
            "queues": _check_queues,
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


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own 400s (a Host header we do not serve, a malformed request) in the envelope."""
    if _wants_json(request):
        return error_response(ErrorInfo(400, "VALIDATION_ERROR", "Bad request."))
    return defaults.bad_request(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return error_response(ErrorInfo(500, "INTERNAL_ERROR", "An internal error occurred; it has been logged."))
    return defaults.server_error(request)
