"""Who is calling: the client's address as the outermost trusted proxy saw it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address the outermost trusted proxy saw (``NUM_PROXIES``).

    Only the last ``NUM_PROXIES`` hops of ``X-Forwarded-For`` were added by proxies we run;
    anything before them the client wrote itself, so it is never believed.
    """
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR") or None
