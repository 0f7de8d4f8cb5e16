"""Read-through cache for product reads, invalidated per organization by version keys.

Every cached read of one organization embeds that organization's version. A
product write (and a stock change by an order) bumps only its organization's
version, right after commit: the next read of that organization builds a new
key, nothing is scanned or deleted, and a read that started before the write
can only store under the old, unreachable key. Another organization's pages
keep their keys: a write in one organization never invalidates another's.

Cross-organization lists (no ``organization`` filter) cannot be versioned by
every organization they show without their hit rate falling as tenants grow.
They are keyed by a structural version (bumped only when an organization is
renamed, deleted or restored) and the versions of the caller's own
organizations (so members read their own writes at once), and are
stale-while-revalidate: fresh for ``CATALOG_SHARED_LIST_FRESH_SECONDS`` (other
organizations' product changes show within that window), then served stale to
everyone but the one process that takes the refresh lock and recomputes.

The product list reads in one Redis round trip on a hit (:func:`list_page`): a
Lua script checks the caller's rate-limit buckets, resolves the organization
filter, reads the versions, builds the page key and reads the page (rendered
JSON bytes), and on a miss takes the compute lock in the same call. Concurrent
misses of one key compute once: the lock is taken only by the first; the
others wait for what it stores.

Redis down or slow (issue 18): every read falls back to the database, uncached
(``olympus_catalog_cache_requests_total{result="unavailable"}``); a version
bump that cannot reach Redis is logged and left to the outbox handler that
bumps again when the event is dispatched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from prometheus_client import Counter
from rest_framework.exceptions import Throttled

from apps.core import redis_writes, throttles
from apps.core.outages import is_dependency_down

logger = logging.getLogger("olympus.catalog.cache")

CACHE_TTL = 300
LOCK_TIMEOUT = 10
# How often a waiting reader looks for the page another process is computing.
WAIT_STEP = 0.01
GLOBAL = "all"
ORGANIZATION_REF_TTL = 60

cache_requests = Counter("olympus_catalog_cache_requests_total", "Product read cache lookups", ["kind", "result"])


def _version_key(scope: str) -> str:
    return f"catalog:version:{scope}"


def _redis() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


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


def _bump(scopes: Iterable[str]) -> None:
    # One round trip: SET NX then INCR per scope, pipelined; atomic per key, never resets a version.
    pipe = _redis().pipeline(transaction=False)
    _queue_bump(pipe, scopes)
    pipe.execute()


def _queue_bump(pipe: Any, scopes: Iterable[str]) -> None:
    for scope in scopes:
        key = cache.make_and_validate_key(_version_key(scope))
        pipe.set(key, 1, nx=True)
        pipe.incr(key)


def bump(organization_id: uuid.UUID | str) -> None:
    """Invalidate every cached read of this organization, and of no other."""
    _bump([str(organization_id)])


def bump_structure(organization_id: uuid.UUID | str) -> None:
    """The organization itself changed (renamed, deleted, restored): its reads and the cross-organization lists."""
    _bump([str(organization_id), GLOBAL])


def bump_after_commit(organization_id: uuid.UUID | str) -> None:
    """Bump right after a write commits; Redis down: logged, the write's outbox event bumps again later.

    Sent with the commit's other Redis writes when the service batches them (``apps.core.redis_writes``).
    """
    redis_writes.send(_AfterCommitBump(organization_id))


class _AfterCommitBump:
    """:func:`bump` of one organization as pipelined commands, its failure handled as after a commit."""

    def __init__(self, organization_id: uuid.UUID | str) -> None:
        self.organization_id = organization_id

    def queue(self, pipe: Any) -> None:
        _queue_bump(pipe, [str(self.organization_id)])

    def done(self, results: list[Any]) -> None:
        for result in results:
            if isinstance(result, Exception):
                self.failed(result)
                return

    def failed(self, exc: Exception) -> None:
        if not is_dependency_down(exc):
            raise exc
        logger.warning("catalog cache bump for %s failed; the outbox will retry: %s", self.organization_id, exc)


def _ref_key(value: str) -> str:
    return cache.make_key(f"catalog:orgref:{hashlib.sha256(value.encode()).hexdigest()}")


def _remember_ref(value: str, resolve: Callable[[str], Any]) -> uuid.UUID | None:
    """Resolve the organization a list filter names (id or slug) and remember its id briefly.

    A stale entry (a slug renamed within ``ORGANIZATION_REF_TTL``) only picks the version key and
    the organization the page lists; a deleted organization lists nothing (the page query joins it).
    """
    organization = resolve(value)
    try:
        _redis().set(_ref_key(value), str(organization.id) if organization else "", ex=ORGANIZATION_REF_TTL)
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
    lock = cache.make_key(f"{key}:lock")
    if not _redis().set(lock, b"1", nx=True, px=LOCK_TIMEOUT * 1000):
        # Another process is computing it: wait for what it stores.
        value = _wait_for(lambda: cache.get(key))
        if value is not None:
            cache_requests.labels(kind=kind, result="hit").inc()
            return value
    cache_requests.labels(kind=kind, result="miss").inc()
    value = compute()
    cache.set(key, value, timeout=CACHE_TTL)
    _redis().delete(lock)
    return value


def _wait_for(read: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + LOCK_TIMEOUT
    step = WAIT_STEP
    while time.monotonic() < deadline:
        time.sleep(step)
        value = read()
        if value is not None:
            return value
        step = min(step * 2, 0.1)
    return None


# --- the product list: one round trip on a hit ---------------------------------------

# KEYS: the rate-limit buckets (ARGV[1] of them), then nothing else: the cache keys are built here.
# ARGV after the buckets' limits and periods: orgref key ('' for none), the member organization ids
# (comma-separated), the scopes of an unfiltered list (comma-separated), the key material, the
# version key prefix, the page key prefix, the lock time (ms).
# Returns {throttle..., status, page key, shared (1: stale-while-revalidate), the organization the filter
# names ('' for none or unknown), page or false}; status:
# throttled, noref, hit, stale, miss, refresh (the caller computes and stores), wait (another process
# is computing).
_LIST_LUA = (
    throttles.GCRA_LUA
    + """
local nb = tonumber(ARGV[1])
local out = gcra(1, 2, nb)
if out[1] == 0 then
  out[#out + 1] = 'throttled'
  return out
end
local i = 2 + 2 * nb
local ref_key, members, scopes, material = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
local version_prefix, page_prefix, lock_ms = ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
local view = ''
local shared = 1
if ref_key ~= '' then
  local ref = redis.call('GET', ref_key)
  if not ref then
    out[#out + 1] = 'noref'
    return out
  end
  if ref ~= '' then
    scopes = ref
    shared = 0
    if string.find(',' .. members .. ',', ',' .. ref .. ',', 1, true) then view = 'member' else view = 'public' end
  else
    scopes = 'all'
    view = 'public'
  end
end
local parts = {material, view}
for scope in string.gmatch(scopes, '[^,]+') do
  parts[#parts + 1] = scope .. '=' .. (redis.call('GET', version_prefix .. scope) or '1')
end
local key = page_prefix .. redis.sha1hex(table.concat(parts, '|'))
local page = redis.call('GET', key)
if page then
  local bar = string.find(page, '|', 1, true)
  local fresh_until = tonumber(string.sub(page, 1, bar - 1))
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if fresh_until == 0 or now < fresh_until then
    out[#out + 1] = 'hit'
  elseif redis.call('SET', key .. ':lock', '1', 'NX', 'PX', lock_ms) then
    out[#out + 1] = 'refresh'
  else
    out[#out + 1] = 'stale'
  end
elseif redis.call('SET', key .. ':lock', '1', 'NX', 'PX', lock_ms) then
  out[#out + 1] = 'miss'
else
  out[#out + 1] = 'wait'
end
out[#out + 1] = key
out[#out + 1] = shared
out[#out + 1] = (ref_key ~= '' and shared == 0) and scopes or ''
out[#out + 1] = page or false
return out
"""
)


def shared_fresh_seconds() -> float:
    return float(getattr(settings, "CATALOG_SHARED_LIST_FRESH_SECONDS", 10))


def _body(stored: bytes) -> bytes:
    return stored.split(b"|", 1)[1]


def list_page(
    request: Any,
    view: Any,
    *,
    organization: str | None,
    member_of: frozenset[uuid.UUID],
    material: Sequence[Any],
    resolve: Callable[[str], Any],
    compute: Callable[[uuid.UUID | None], bytes],
) -> bytes:
    """The product list page (rendered JSON): the caller's rate limits and the cache in one round trip on a hit.

    ``organization`` is the filter's value (id or slug) or None for a cross-organization list;
    ``material`` what else the page depends on (query, view, base URL). ``compute`` gets the id
    of the organization the filter names when the lookup resolved it (None: resolve it yourself).
    Raises ``Throttled`` (429) when a rate-limit bucket refuses the caller.
    """
    members = ",".join(sorted(str(i) for i in member_of))
    scopes = ",".join([*sorted(str(i) for i in member_of), GLOBAL])
    material_text = json.dumps(list(material), sort_keys=True, default=str)
    tail = [
        _ref_key(organization) if organization else "",
        members,
        scopes,
        material_text,
        cache.make_key(_version_key("")),
        cache.make_key("catalog:list:"),
        LOCK_TIMEOUT * 1000,
    ]
    answer: dict[str, Any] = {}

    def run(buckets: list[throttles.Bucket]) -> Sequence[Any]:
        keys, args = throttles.bucket_args(buckets)
        raw = throttles.run_script(_LIST_LUA, keys, [len(buckets), *args, *tail])
        answer["rest"] = raw[1 + 3 * len(buckets) :]
        return raw

    try:
        state = throttles.check(request, view, run=run)
        if not state.allowed:
            raise Throttled(wait=state.retry_after)
        status, *found = answer["rest"]
        status = status.decode() if isinstance(status, bytes) else status
        if status == "noref":
            # The filter names an organization not seen lately: resolve it once, then read without the buckets.
            _remember_ref(organization or "", resolve)
            raw = throttles.run_script(_LIST_LUA, [], [0, *tail])
            status, *found = raw[1:]
            status = status.decode() if isinstance(status, bytes) else status
        key, shared, ref, stored = found
    except Throttled:
        raise
    except Exception as exc:
        throttles.fail_open(throttles.base_scope(request), exc)
        cache_requests.labels(kind="list", result="unavailable").inc()
        return compute(None)
    if status in ("hit", "stale"):
        cache_requests.labels(kind="list", result="hit").inc()
        return _body(stored)
    if status == "wait":
        stored = _wait(key)
        if stored is not None:
            cache_requests.labels(kind="list", result="hit").inc()
            return _body(stored)
    cache_requests.labels(kind="list", result="miss").inc()
    ref = ref.decode() if isinstance(ref, bytes) else ref
    body = compute(uuid.UUID(ref) if ref else None)
    _store(key, body, shared=bool(int(shared)), locked=status in ("miss", "refresh"))
    return body


def _wait(key: bytes | str) -> bytes | None:
    try:
        value: bytes | None = _wait_for(lambda: _redis().get(key))
    except Exception as exc:
        _unavailable("list", exc)
        return None
    return value


def _store(key: bytes | str, body: bytes, *, shared: bool, locked: bool) -> None:
    fresh_until = int((time.time() + shared_fresh_seconds()) * 1000) if shared else 0
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.set(key, str(fresh_until).encode() + b"|" + body, ex=CACHE_TTL)
        if locked:
            pipe.delete((key.decode() if isinstance(key, bytes) else key) + ":lock")
        pipe.execute()
    except Exception as exc:
        _unavailable("list", exc)
