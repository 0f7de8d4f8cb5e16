"""``/health``: every dependency checked with a deadline, the Celery side from a shared cache.

The answer comes within ``HEALTH_TIMEOUT_SECONDS`` whatever is down or hung: each
check runs on a small thread pool and one still running at the deadline counts as
failed ("timeout"); a check still hung from an earlier call is not started again, so
a hung dependency never piles up threads. The worker ping (a broadcast to every
worker that waits ``HEALTH_WORKER_PING_TIMEOUT``) and the queue depths are never
done on the request: the result lives in the cache, and when it is older than
``HEALTH_WORKER_PING_INTERVAL`` the one caller that wins a cache lock refreshes it
in a background thread. However many callers there are, the workers see at most one
ping per interval (``health:pings`` counts them). The migration check's answer is
cached for the same interval.

Anonymous callers get the overall status only; the per-check details (worker
counts, queue depths) need ``HEALTH_TOKEN`` (``Authorization: Bearer``) or a staff
session.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hmac
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest

logger = logging.getLogger("olympus.health")

CELERY_KEY = "health:celery"
LOCK_KEY = "health:celery:lock"
PING_COUNT_KEY = "health:pings"
MIGRATIONS_KEY = "health:migrations"

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
_running: dict[str, Future] = {}
_running_lock = threading.Lock()
_refresher: threading.Thread | None = None


class Degraded(Exception):
    """A check that works but reports trouble short of an outage (no worker, a queue backing up)."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


def _in_thread(check: Callable[[], object]) -> Callable[[], object]:
    """Run ``check`` with a database connection of the pool thread's own, closed afterwards."""

    def run() -> object:
        try:
            return check()
        finally:
            connection.close()

    return run


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    cache.set("health:ping", "pong", timeout=10)
    if cache.get("health:ping") != "pong":
        raise RuntimeError("cache did not return what was written")


def check_broker() -> None:
    from olympus.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_TIMEOUT_SECONDS)


def check_migrations() -> None:
    """Unapplied migrations are an error; the answer is kept in the cache for the ping interval."""
    problem = cache.get(MIGRATIONS_KEY)
    if problem is None:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        problem = f"{len(plan)} migration(s) not applied" if plan else ""
        cache.set(MIGRATIONS_KEY, problem, timeout=max(int(settings.HEALTH_WORKER_PING_INTERVAL), 1))
    if problem:
        raise RuntimeError(problem)


# --- the Celery side: refreshed in the background, read from the cache ---------------------------------


def celery_snapshot() -> dict[str, object]:
    """Ping the workers and read the queue depths now (slow: the ping waits its whole timeout)."""
    from apps.jobs.metrics import queue_depths
    from olympus.celery import app

    snapshot: dict[str, object] = {"at": time.time()}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            if not cache.add(PING_COUNT_KEY, 1, timeout=None):
                cache.incr(PING_COUNT_KEY)
            replies = app.control.ping(timeout=settings.HEALTH_WORKER_PING_TIMEOUT, connection=conn)
        snapshot["workers"] = len(replies)
    except Exception as exc:  # reported, never raised
        snapshot["workers_error"] = type(exc).__name__
    try:
        snapshot["depths"] = queue_depths()
    except Exception as exc:
        snapshot["depths_error"] = type(exc).__name__
    return snapshot


def refresh_celery_snapshot() -> None:
    """Take a snapshot and store it (the background thread's body)."""
    try:
        cache.set(CELERY_KEY, celery_snapshot(), timeout=None)
    except Exception as exc:  # the cache is down: the next call tries again
        logger.warning("health snapshot not stored: %s", type(exc).__name__)
    finally:
        connection.close()


def _refresh_if_stale(snapshot: dict[str, object] | None) -> None:
    """Start one background refresh when the snapshot is missing or older than the interval."""
    global _refresher
    interval = settings.HEALTH_WORKER_PING_INTERVAL
    if snapshot is not None and time.time() - float(snapshot["at"]) < interval:  # type: ignore[arg-type]
        return
    # One caller per interval, across every process sharing the cache.
    if not cache.add(LOCK_KEY, 1, timeout=max(int(interval), 1)):
        return
    _refresher = threading.Thread(target=refresh_celery_snapshot, name="health-refresh", daemon=True)
    _refresher.start()


def wait_for_refresh(timeout: float = 30.0) -> None:
    """Wait for a background refresh this process started (tests; no sleeping)."""
    if _refresher is not None:
        _refresher.join(timeout)


def wait_for_checks(timeout: float = 30.0) -> None:
    """Wait for checks still running from earlier calls (tests; no sleeping)."""
    with _running_lock:
        futures = list(_running.values())
    for future in futures:
        # Its outcome was reported when it was asked for.
        with contextlib.suppress(Exception):
            future.result(timeout)


def _cached_snapshot() -> dict[str, object] | None:
    snapshot = cache.get(CELERY_KEY)
    _refresh_if_stale(snapshot)
    return snapshot


def check_workers(snapshot: dict[str, object] | None) -> dict[str, object]:
    if snapshot is None:
        return {"status": "pending", "reason": "first worker ping under way"}
    age = round(time.time() - float(snapshot["at"]), 1)  # type: ignore[arg-type]
    if "workers_error" in snapshot:
        raise RuntimeError(str(snapshot["workers_error"]))
    if not snapshot["workers"]:
        raise Degraded("no worker answered", workers=0, age_seconds=age)
    return {"workers": snapshot["workers"], "age_seconds": age}


def check_queues(snapshot: dict[str, object] | None) -> dict[str, object]:
    if snapshot is None:
        return {"status": "pending", "reason": "first reading under way"}
    if "depths_error" in snapshot:
        raise RuntimeError(str(snapshot["depths_error"]))
    depths: dict[str, int] = snapshot["depths"]  # type: ignore[assignment]
    backed_up = sorted(name for name, depth in depths.items() if depth > settings.HEALTH_QUEUE_DEPTH_THRESHOLD)
    if backed_up:
        raise Degraded(f"backed up: {', '.join(backed_up)}", depths=depths)
    return {"depths": depths}


# --- running the checks -------------------------------------------------------------------------------


def _submit(name: str, check: Callable[[], object]) -> Future:
    """The check's future: the one still running from an earlier call, or a new one."""
    with _running_lock:
        future = _running.get(name)
        if future is None or future.done():
            future = _pool.submit(_in_thread(check))
            _running[name] = future
        return future


def _result_by(future: Future, deadline: float) -> object:
    """The future's result, waiting no later than ``deadline`` (a ``time.perf_counter()`` value)."""
    return future.result(timeout=max(deadline - time.perf_counter(), 0))


def _outcome(name: str, run: Callable[[], object]) -> dict[str, object]:
    try:
        info = run()
    except Degraded as exc:
        return {"status": "degraded", "reason": str(exc), **exc.details}
    except FutureTimeout:
        logger.warning("health check %s timed out", name)
        return {"status": "error", "error": "timeout"}
    except Exception as exc:  # a probe reports failures, it never raises them
        logger.warning("health check %s failed: %s", name, type(exc).__name__)
        # The exception type only: internals stay out of the answer.
        return {"status": "error", "error": type(exc).__name__}
    info = info if isinstance(info, dict) else {}
    return {"status": "ok", **info}


def run_checks() -> tuple[bool, dict[str, dict[str, object]]]:
    """(healthy, per-check results) within ``HEALTH_TIMEOUT_SECONDS``."""
    started = time.perf_counter()
    deadline = started + settings.HEALTH_TIMEOUT_SECONDS
    checks = {
        "database": check_database,
        "cache": check_cache,
        "broker": check_broker,
        "migrations": check_migrations,
        "snapshot": _cached_snapshot,
    }
    futures = {name: _submit(name, check) for name, check in checks.items()}
    results: dict[str, dict[str, object]] = {}
    snapshot: dict[str, object] | None = None
    for name, future in futures.items():
        if name == "snapshot":
            try:
                snapshot = future.result(timeout=max(deadline - time.perf_counter(), 0))
            except Exception:  # the cache is down or hung: the cache check reports it
                snapshot = None
            continue
        results[name] = _outcome(name, functools.partial(_result_by, future, deadline))
    if results["migrations"].get("error") == "timeout" and results["database"]["status"] == "ok":
        # Loading the migration graph can outlast the deadline on a cold process: the database answers,
        # the check finishes in the background and its answer is cached for the next call.
        results["migrations"] = {"status": "pending", "reason": "check under way"}
    results["workers"] = _outcome("workers", lambda: check_workers(snapshot))
    results["queues"] = _outcome("queues", lambda: check_queues(snapshot))
    return all(result["status"] != "error" for result in results.values()), results


def may_see_details(request: HttpRequest) -> bool:
    """``HEALTH_TOKEN`` as a Bearer token, or a signed-in staff member (the admin's session)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _credentials_match(value.strip(), settings.HEALTH_TOKEN):
        return True
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False  # no session to load: never touch the database for an anonymous caller
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_active and user.is_staff)
    except Exception:  # the session store is down: details are for the token then
        return False


def _credentials_match(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def may_scrape(request: HttpRequest) -> bool:
    """``/metrics``: ``METRICS_TOKEN`` as a Bearer token or ``METRICS_BASIC_AUTH`` (``user:password``).

    With neither configured the endpoint is closed, except in development (``DEBUG``).
    """
    token, basic = settings.METRICS_TOKEN, settings.METRICS_BASIC_AUTH
    if not token and not basic:
        return bool(settings.DEBUG)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return _credentials_match(value.strip(), token)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return _credentials_match(decoded, basic)
    return False
