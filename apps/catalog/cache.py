"""Read-through cache for product reads, invalidated per organization by version keys.

Every cached read embeds the version of the organization it came from (or the
global catalog version for cross-organization lists). A product write bumps
the organization's version and the global one right after commit, so the next
read builds a new key: nothing is scanned or deleted, and a read that started
before the write can only store under the old, unreachable key. Concurrent
misses of one key compute once: the first takes a Redis lock, the others wait
for it and then read what it stored.

Redis down or slow (issue 18): every read falls back to the database, uncached
(``olympus_catalog_cache_requests_total{result="unavailable"}``); a version
bump that cannot reach Redis is logged and left to the outbox handler that
bumps again when the event is dispatched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from prometheus_client import Counter

from apps.core.outages import is_dependency_down

logger = logging.getLogger("olympus.catalog.cache")

CACHE_TTL = 300
LOCK_TIMEOUT = 10
GLOBAL = "all"

cache_requests = Counter("olympus_catalog_cache_requests_total", "Product read cache lookups", ["kind", "result"])


def _version_key(scope: str) -> str:
    return f"catalog:version:{scope}"


def _unavailable(kind: str, exc: BaseException) -> None:
    if not is_dependency_down(exc):
        raise exc
    cache_requests.labels(kind=kind, result="unavailable").inc()
    logger.warning("catalog cache unavailable (%s), reading the database: %s: %s", kind, type(exc).__name__, exc)


def versions(scopes: list[str]) -> dict[str, int] | None:
    """Current versions of the given scopes (organization ids or ``GLOBAL``); 1 when never bumped.

    None when Redis does not answer: the read then skips the cache.
    """
    try:
        found = cache.get_many([_version_key(s) for s in scopes])
    except Exception as exc:
        _unavailable("versions", exc)
        return None
    return {s: int(found.get(_version_key(s), 1)) for s in scopes}


def bump(organization_id: uuid.UUID | str) -> None:
    """Invalidate every cached read of this organization (and cross-organization lists).

    One round trip: SET NX then INCR per scope, pipelined; atomic per key and
    never resets a version that already exists.
    """
    from django_redis import get_redis_connection

    pipe = get_redis_connection("default").pipeline(transaction=False)
    for scope in (str(organization_id), GLOBAL):
        key = cache.make_and_validate_key(_version_key(scope))
        pipe.set(key, 1, nx=True)
        pipe.incr(key)
    pipe.execute()


def bump_after_commit(organization_id: uuid.UUID | str) -> None:
    """Bump right after a write commits; Redis down: logged, the write's outbox event bumps again later."""
    try:
        bump(organization_id)
    except Exception as exc:
        if not is_dependency_down(exc):
            raise
        logger.warning("catalog cache bump for %s failed; the outbox will retry: %s", organization_id, exc)


ORGANIZATION_REF_TTL = 60


def _ref_key(value: str) -> str:
    return f"catalog:orgref:{hashlib.sha256(value.encode()).hexdigest()}"


def organization_ref(value: str, resolve: Callable[[str], Any]) -> uuid.UUID | None:
    """The id of the organization a list filter names (id or slug), remembered briefly.

    A stale entry is harmless: it only picks the version key, organization
    changes bump that version (events.py), and a miss resolves the filter again
    from the database.
    """
    key = _ref_key(value)
    try:
        found = cache.get(key)
    except Exception as exc:
        _unavailable("orgref", exc)
        organization = resolve(value)
        return organization.id if organization else None
    if found is not None:
        return uuid.UUID(found) if found else None
    organization = resolve(value)
    try:
        cache.set(key, str(organization.id) if organization else "", timeout=ORGANIZATION_REF_TTL)
    except Exception as exc:
        _unavailable("orgref", exc)
    return organization.id if organization else None


def make_key(kind: str, scope_versions: dict[str, int] | None, *parts: Any) -> str | None:
    """The cache key of one read; None (do not cache) when the versions could not be read."""
    if scope_versions is None:
        return None
    raw = json.dumps([kind, sorted(scope_versions.items()), *parts], sort_keys=True, default=str)
    return f"catalog:{kind}:{hashlib.sha256(raw.encode()).hexdigest()}"


_MISSING = object()


def get_or_compute(key: str | None, kind: str, compute: Callable[[], Any]) -> Any:
    """The cached value, or ``compute()`` stored for the next caller; straight from the database
    (computed once) when there is no key or Redis fails at any step."""
    if key is None:
        return compute()
    computed: Any = _MISSING

    def compute_once() -> Any:
        nonlocal computed
        computed = compute()
        return computed

    try:
        return _get_or_compute(key, kind, compute_once)
    except Exception as exc:
        _unavailable(kind, exc)
        return computed if computed is not _MISSING else compute()


def _get_or_compute(key: str, kind: str, compute: Callable[[], Any]) -> Any:
    value = cache.get(key)
    if value is not None:
        cache_requests.labels(kind=kind, result="hit").inc()
        return value
    with cache.lock(f"{key}:lock", timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_TIMEOUT):
        value = cache.get(key)
        if value is not None:  # another process computed it while we waited
            cache_requests.labels(kind=kind, result="hit").inc()
            return value
        cache_requests.labels(kind=kind, result="miss").inc()
        value = compute()
        cache.set(key, value, timeout=CACHE_TTL)
        return value
