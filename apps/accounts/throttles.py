"""Throttles for sign-in and password reset: per client IP and per email, counted in Redis (the cache).

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (read per request,
so settings overrides apply) and may name a multiple of the unit: ``10/5m``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from apps.accounts.events import ClientInfo
from apps.core.throttles import FailOpenMixin, RateLimitState, rate_limit_state, remember

USER_AGENT_MAX = 512

_PERIOD = re.compile(r"^(?P<count>\d*)\s*(?P<unit>[smhd])[a-z]*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _ScopedThrottle(FailOpenMixin, SimpleRateThrottle):
    scope: str

    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        history = getattr(self, "history", None)
        limit, duration = getattr(self, "num_requests", None), getattr(self, "duration", None)
        if history is not None and limit and duration:
            # The RateLimit-* headers (apps/core/throttles.py): the tightest of the request's buckets.
            remaining = max(0, limit - len(history))
            reset = math.ceil(history[-1] + duration - self.now) if history else 0
            state = RateLimitState(allowed, limit, remaining, max(0, reset), None)
            current = rate_limit_state(getattr(request, "_request", request))
            if current is None or (remaining, limit) < (current.remaining, current.limit):
                remember(request, state)
        return allowed

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}.") from exc

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        if rate is None:
            return (None, None)
        count, period = rate.split("/")
        match = _PERIOD.match(period.strip().lower())
        if match is None:
            raise ValueError(f"Bad throttle rate {rate!r}; expected e.g. '10/5m'.")
        return int(count), int(match["count"] or 1) * _SECONDS[match["unit"]]

    def cache_key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _IPThrottle(_ScopedThrottle):
    def get_cache_key(self, request, view) -> str:
        return self.cache_key_for(self.get_ident(request))


class _EmailThrottle(_ScopedThrottle):
    """Counts attempts per target address (hashed: no addresses in Redis keys)."""

    def get_cache_key(self, request, view) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_key_for(hashlib.sha256(email.strip().lower().encode()).hexdigest())


class LoginIPThrottle(_IPThrottle):
    scope = "login_ip"


class LoginEmailThrottle(_EmailThrottle):
    scope = "login_email"


class PasswordResetIPThrottle(_IPThrottle):
    scope = "password_reset_ip"


class PasswordResetEmailThrottle(_EmailThrottle):
    scope = "password_reset_email"


class RegisterIPThrottle(_IPThrottle):
    scope = "register_ip"


class VerificationResendThrottle(_ScopedThrottle):
    scope = "verification_resend"

    def get_cache_key(self, request, view) -> str:
        return self.cache_key_for(str(request.user.pk))


def client_info(request: Any) -> ClientInfo:
    """The caller's IP (as the throttles see it, honouring NUM_PROXIES) and user agent (every door)."""
    ident = BaseThrottle().get_ident(request)
    try:
        ip: str | None = str(ipaddress.ip_address((ident or "").strip()))
    except ValueError:
        ip = None
    return ClientInfo(ip=ip, user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX])
