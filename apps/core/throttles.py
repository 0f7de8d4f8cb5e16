"""Throttles that fail open: a rate limit is not worth an outage.

The counters live in Redis (the cache). When Redis is down or too slow, the
request is let through instead of failing; each such pass is logged and counted
in ``olympus_throttle_fail_open_total`` (``/metrics``), so an outage that
switches rate limiting off is visible.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Counter
from rest_framework import throttling

from apps.core.outages import is_dependency_down

logger = logging.getLogger("olympus.throttles")

throttle_fail_open = Counter(
    "olympus_throttle_fail_open_total",
    "Requests let through because the throttle's store (Redis) did not answer",
    ["scope"],
)


class FailOpenMixin:
    """Put first in the bases of any DRF throttle that counts in the cache."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:
            if not is_dependency_down(exc):
                raise
            scope = getattr(self, "scope", None) or type(self).__name__
            throttle_fail_open.labels(scope=scope).inc()
            logger.warning("throttle %s failed open: %s: %s", scope, type(exc).__name__, exc)
            return True


class AnonRateThrottle(FailOpenMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenMixin, throttling.UserRateThrottle):
    pass
