"""Rate-limit tiers: every bucket that applies to a request checked in one Redis round trip.

Tiers (rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read per request,
each set by an environment variable, see docs/configuration.md):

- ``anon``: anonymous callers, per client IP (``NUM_PROXIES`` honoured);
- ``user``: signed-in callers, per user;
- a view tier on top, per caller, for the actions a view names in
  ``rate_limit_tiers`` (``{"create": "product_create"}``, ``{"*": "webhook_manage"}``).

A plan may raise a signed-in caller's rates: :func:`plan_factor_register` (billing
registers one, from ``apps.entitlements.rate_limit_factor``). The factor is looked
up only when a base rate would refuse the caller (one query, then remembered in
the process for :data:`FACTOR_TTL` seconds), so the common request pays nothing.

Each bucket is a GCRA (generic cell rate algorithm) cell in Redis: one key
holding the theoretical arrival time (and the interval it was counted at, so a
raised rate keeps the cells in use rather than the time they reserve), so a bucket of 1,000 per minute costs one
key, not a list of 1,000 timestamps. One Lua script checks every bucket of the
request and takes a cell from each only when all allow it. The outcome is left
on the request (:func:`rate_limit_state`) and :class:`RateLimitHeadersMiddleware`
turns it into the ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` headers (the tightest bucket) on the response.

Redis down or too slow: the request is let through instead of failing; each
such pass is logged and counted in ``olympus_throttle_fail_open_total``
(``/metrics``), so an outage that switches rate limiting off is visible.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter
from rest_framework import throttling
from rest_framework.settings import api_settings

from apps.core.outages import is_dependency_down

logger = logging.getLogger("olympus.throttles")

throttle_fail_open = Counter(
    "olympus_throttle_fail_open_total",
    "Requests let through because the throttle's store (Redis) did not answer",
    ["scope"],
)

_PERIOD = re.compile(r"^(?P<count>\d*)\s*(?P<unit>[smhd])[a-z]*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# How long a process remembers a caller's plan factor (rates raised by the plan).
FACTOR_TTL = 300.0


def parse_rate(rate: str) -> tuple[int, int]:
    """``"100/min"``, ``"10/5m"`` → (requests, period in seconds)."""
    count, period = rate.split("/")
    match = _PERIOD.match(period.strip().lower())
    if match is None:
        raise ValueError(f"Bad throttle rate {rate!r}; expected e.g. '100/min' or '10/5m'.")
    return int(count), int(match["count"] or 1) * _SECONDS[match["unit"]]


@dataclass(frozen=True)
class Bucket:
    scope: str
    key: str
    limit: int
    period_ms: int


@dataclass(frozen=True)
class RateLimitState:
    """What the headers say: the tightest bucket's limit, what is left of it and when it is full again."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int | None


# GCRA over several buckets. KEYS: one per bucket; ARGV: limit and period (ms) per bucket.
# Returns {allowed, remaining_1, retry_ms_1, reset_ms_1, remaining_2, ...}; writes only when all allow.
GCRA_LUA = """
local function gcra(first_key, first_arg, count)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local allowed = 1
  local out = {}
  local tats = {}
  local intervals = {}
  for i = 1, count do
    local key = KEYS[first_key + i - 1]
    local limit = tonumber(ARGV[first_arg + 2 * i - 2])
    local period = tonumber(ARGV[first_arg + 2 * i - 1])
    local interval = period / limit
    local tat = now
    local stored = redis.call('GET', key)
    if stored then
      local bar = string.find(stored, '|', 1, true)
      tat = tonumber(string.sub(stored, 1, bar - 1))
      local was = tonumber(string.sub(stored, bar + 1))
      -- the rate changed (a plan raised it): keep the cells in use, at the new interval
      if was ~= interval and tat > now then tat = now + (tat - now) / was * interval end
    end
    if tat < now then tat = now end
    local new_tat = tat + interval
    local allow_at = new_tat - period
    if allow_at > now then
      allowed = 0
      out[#out + 1] = 0
      out[#out + 1] = math.ceil(allow_at - now)
      out[#out + 1] = math.ceil(tat - now)
    else
      out[#out + 1] = math.floor((period - (new_tat - now)) / interval)
      out[#out + 1] = 0
      out[#out + 1] = math.ceil(new_tat - now)
    end
    tats[i] = new_tat
    intervals[i] = interval
  end
  if allowed == 1 then
    for i = 1, count do
      redis.call('SET', KEYS[first_key + i - 1], string.format('%.3f|%.6f', tats[i], intervals[i]), 'PX',
                 math.max(1, math.ceil(tats[i] - now)))
    end
  end
  table.insert(out, 1, allowed)
  return out
end
"""

_CHECK_LUA = GCRA_LUA + "\nreturn gcra(1, 1, #KEYS)\n"


def redis_client() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


_scripts: dict[str, Any] = {}


def run_script(source: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """Run a Lua script on the cache's Redis: EVALSHA, falling back to EVAL once per Redis restart."""
    client = redis_client()
    found = _scripts.get(source)
    if found is None:
        found = _scripts[source] = client.register_script(source)
    return found(keys=keys, args=args, client=client)


def bucket_args(buckets: Sequence[Bucket]) -> tuple[list[str], list[int]]:
    keys = [cache.make_key(f"ratelimit:{b.scope}:{b.key}") for b in buckets]
    args: list[int] = []
    for bucket in buckets:
        args += [bucket.limit, bucket.period_ms]
    return keys, args


def state_from(buckets: Sequence[Bucket], raw: Sequence[Any]) -> RateLimitState:
    """The script's answer as headers: the bucket with the fewest requests left (the lowest limit on a tie)."""
    allowed = bool(int(raw[0]))
    if not buckets:
        return RateLimitState(allowed, 0, 0, 0, None)
    rows = [(int(raw[1 + 3 * i]), int(raw[2 + 3 * i]), int(raw[3 + 3 * i])) for i in range(len(buckets))]
    tightest = min(range(len(buckets)), key=lambda i: (rows[i][0], buckets[i].limit))
    waits = [row[1] for row in rows if row[1] > 0]
    return RateLimitState(
        allowed=allowed,
        limit=buckets[tightest].limit,
        remaining=rows[tightest][0],
        reset_seconds=math.ceil(rows[tightest][2] / 1000),
        retry_after=None if allowed else max(1, math.ceil(max(waits, default=1000) / 1000)),
    )


# --- plan factors ---------------------------------------------------------------

_plan_factor: Callable[[Any], float] | None = None
_factors: dict[Any, tuple[float, float]] = {}


def plan_factor_register(resolve: Callable[[Any], float]) -> None:
    """Billing registers how much a signed-in user's plans raise their rates (1.0: not at all)."""
    global _plan_factor  # noqa: PLW0603 - one resolver per process
    _plan_factor = resolve


def _known_factor(user_id: Any) -> float | None:
    found = _factors.get(user_id)
    if found is None or found[1] < time.monotonic():
        return None
    return found[0]


def _resolve_factor(user: Any) -> float:
    factor = float(_plan_factor(user)) if _plan_factor is not None else 1.0
    _factors[user.pk] = (factor, time.monotonic() + FACTOR_TTL)
    return factor


def forget_factors() -> None:
    """Drop every remembered plan factor (tests, and after a plan change in this process)."""
    _factors.clear()


# --- the throttle -----------------------------------------------------------------


def _rate(scope: str) -> tuple[int, int] | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    return parse_rate(str(rate)) if rate else None


def request_buckets(request: Any, view: Any, *, factor: float = 1.0) -> list[Bucket]:
    """Every bucket that applies: the caller's base tier, and the view tier of this action."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        base, ident = "user", f"u{user.pk}"
    else:
        base, ident = "anon", f"ip{throttling.BaseThrottle().get_ident(request)}"
        factor = 1.0
    scopes = [base]
    tiers = getattr(view, "rate_limit_tiers", None) or {}
    tier = (tiers.get(getattr(view, "action", None)) or tiers.get("*")) if tiers else None
    if tier:
        scopes.append(tier)
    buckets = []
    for scope in scopes:
        rate = _rate(scope)
        if rate is not None:
            buckets.append(Bucket(scope, ident, max(1, int(rate[0] * factor)), rate[1] * 1000))
    return buckets


def _factor_for(request: Any) -> float:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 1.0
    return _known_factor(user.pk) or 1.0


def _needs_factor(request: Any, state: RateLimitState) -> bool:
    user = getattr(request, "user", None)
    return (
        not state.allowed and user is not None and user.is_authenticated and _known_factor(user.pk) is None
    ) and _plan_factor is not None


def remember(request: Any, state: RateLimitState) -> None:
    target = getattr(request, "_request", request)
    target.rate_limit = state


def rate_limit_state(request: HttpRequest) -> RateLimitState | None:
    return getattr(request, "rate_limit", None)


def check(request: Any, view: Any, *, run: Callable[[list[Bucket]], Sequence[Any]] | None = None) -> RateLimitState:
    """Check and take a cell from every bucket of the request; ``run`` may send the buckets in a larger script.

    Raises what Redis raised when it did not answer (the caller fails open).
    """

    def evaluate(buckets: list[Bucket]) -> RateLimitState:
        if run is not None:
            return state_from(buckets, run(buckets))
        keys, args = bucket_args(buckets)
        return state_from(buckets, run_script(_CHECK_LUA, keys, args))

    buckets = request_buckets(request, view, factor=_factor_for(request))
    if not buckets and run is None:
        return RateLimitState(True, 0, 0, 0, None)
    state = evaluate(buckets)
    if _needs_factor(request, state):
        factor = _resolve_factor(request.user)
        if factor > 1.0:  # the plan raises the rates: check again against them (rare: only when refused)
            state = evaluate(request_buckets(request, view, factor=factor))
    remember(request, state)
    return state


def base_scope(request: Any) -> str:
    user = getattr(request, "user", None)
    return "user" if user is not None and user.is_authenticated else "anon"


def fail_open(scope: str, exc: BaseException) -> None:
    """Redis did not answer: log and count, and let the request through (re-raise anything else)."""
    if not is_dependency_down(exc):
        raise exc
    throttle_fail_open.labels(scope=scope).inc()
    logger.warning("throttle %s failed open: %s: %s", scope, type(exc).__name__, exc)


class TieredRateThrottle(throttling.BaseThrottle):
    """The default throttle of every API view (and of /graphql): all tiers, one Redis round trip."""

    scope = "tiers"

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        if getattr(view, "rate_limit_deferred", False):
            return True  # the view checks the buckets itself, in its own round trip (catalog list)
        try:
            state = check(request, view)
        except Exception as exc:
            fail_open(base_scope(request), exc)
            return True
        self._wait = state.retry_after
        return state.allowed

    def wait(self) -> float | None:
        return self._wait


class FailOpenMixin:
    """Put first in the bases of any DRF throttle that counts in the cache (the sign-in throttles)."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:
            scope = getattr(self, "scope", None) or type(self).__name__
            fail_open(scope, exc)
            return True


class RateLimitHeadersMiddleware:
    """``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` on every rate-limited response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state = rate_limit_state(request)
        if state is not None and state.limit:
            response["RateLimit-Limit"] = str(state.limit)
            response["RateLimit-Remaining"] = str(max(0, state.remaining))
            response["RateLimit-Reset"] = str(state.reset_seconds)
        return response
