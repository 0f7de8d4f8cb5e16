"""Cross-Origin-Embedder-Policy on HTML pages and Cross-Origin-Resource-Policy on every response.

Django sets Cross-Origin-Opener-Policy itself (``SECURE_CROSS_ORIGIN_OPENER_POLICY``) and
django-csp the Content-Security-Policy; these two complete cross-origin isolation. A view
that sets either header keeps its own.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class CrossOriginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CROSS_ORIGIN_RESOURCE_POLICY:
            response.headers.setdefault("Cross-Origin-Resource-Policy", settings.CROSS_ORIGIN_RESOURCE_POLICY)
        is_html = response.get("Content-Type", "").startswith("text/html")
        if is_html and settings.CROSS_ORIGIN_EMBEDDER_POLICY:
            response.headers.setdefault("Cross-Origin-Embedder-Policy", settings.CROSS_ORIGIN_EMBEDDER_POLICY)
        return response
