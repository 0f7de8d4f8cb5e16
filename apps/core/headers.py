"""Cross-Origin-Embedder-Policy on HTML pages and Cross-Origin-Resource-Policy on every response.

Django sets Cross-Origin-Opener-Policy itself (``SECURE_CROSS_ORIGIN_OPENER_POLICY``) and
django-csp the Content-Security-Policy; these two complete cross-origin isolation. A view
that sets either header keeps its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase


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


# What a view may set on its response to change its policy (django-csp's decorators).
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


@functools.cache
def _configured_policy(report_only: bool) -> str:
    """The header django-csp builds for a response with no nonce and no policy of its own."""
    return build_policy(config=None, update=None, replace=None, nonce=None, report_only=report_only)


@receiver(setting_changed)
def _forget_configured_policy(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _configured_policy.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, the configured policy built once instead of for every response.

    A response whose request used a nonce (an HTML page with an inline script) or that carries a
    policy of its own (django-csp's decorators) goes through django-csp unchanged. Any other
    (every API response) gets the configured header, built once per process (again when the
    settings change), under django-csp's own rules: a header already set, an exempt response
    and an excluded path prefix are left alone; the nonce is closed afterwards.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _PER_RESPONSE):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:  # django-csp leaves debug pages alone
            return response
        for header, setting, exempt, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", "_csp_exempt", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro", True),
        ):
            policy = _configured_policy(report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
