"""Read-through cache for product reads, invalidated per organization by version keys.

Every cached read embeds the version of the organization it came from (or the
global catalog version for cross-organization lists). A product write bumps
the organization's version and the global one right after commit, so the next
read builds a new key: nothing is scanned or deleted, and a read that started
before the write can only store under the old, unreachable key. Concurrent
misses of one key compute once: the first takes a Redis lock, the others wait
for it and then read what it stored.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from prometheus_client import Counter

CACHE_TTL = 300
LOCK_TIMEOUT = 10
GLOBAL = "all"

cache_requests = Counter("olympus_catalog_cache_requests_total", "Product read cache lookups", ["kind", "result"])


def _version_key(scope: str) -> str:
    return f"catalog:version:{scope}"


def versions(scopes: list[str]) -> dict[str, int]:
    """Current versions of the given scopes (organization ids or ``GLOBAL``); 1 when never bumped."""
    found = cache.get_many([_version_key(s) for s in scopes])
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
    found = cache.get(key)
    if found is not None:
        return uuid.UUID(found) if found else None
    organization = resolve(value)
    cache.set(key, str(organization.id) if organization else "", timeout=ORGANIZATION_REF_TTL)
    return organization.id if organization else None


def make_key(kind: str, scope_versions: dict[str, int], *parts: Any) -> str:
    raw = json.dumps([kind, sorted(scope_versions.items()), *parts], sort_keys=True, default=str)
    return f"catalog:{kind}:{hashlib.sha256(raw.encode()).hexdigest()}"


def get_or_compute(key: str, kind: str, compute: Callable[[], Any]) -> Any:
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
