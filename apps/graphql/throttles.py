"""REST's throttles, applied to GraphQL: the same classes, rates and Redis counters.

Every POST or GET to ``/graphql`` counts once against the caller's ``user``
rate (anonymous callers: the ``anon`` rate per client IP), the buckets REST's
``TieredRateThrottle`` uses (one Redis round trip, RateLimit-* headers). The ``login`` and
``register`` mutations also count against the accounts app's own throttles
(per IP and per email), exactly as their REST endpoints do.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.http import HttpRequest
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from apps.core.throttles import TieredRateThrottle

REQUEST_THROTTLES: tuple[type[BaseThrottle], ...] = (TieredRateThrottle,)


def check_throttles(request: Any, throttles: Iterable[type[BaseThrottle]]) -> None:
    """Raise DRF's ``Throttled`` (RATE_LIMIT_EXCEEDED, with the wait) when any throttle refuses."""
    waits = []
    for throttle_class in throttles:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait())
    if waits:
        known = [wait for wait in waits if wait is not None]
        raise Throttled(wait=max(known) if known else None)


def throttle_operation(request: HttpRequest, throttles: Iterable[type[BaseThrottle]], **data: Any) -> None:
    """Apply REST endpoint throttles inside a mutation: ``data`` stands in for the REST request body."""
    shim = SimpleNamespace(META=request.META, headers=request.headers, data=data, user=request.user)
    check_throttles(shim, throttles)
