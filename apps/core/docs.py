"""The API docs pages, offline: ReDoc from the sidecar's bundle, minus its one outside request.

ReDoc's sidebar always renders a Redocly logo from Redocly's CDN. The bundle is
served here with that address emptied (an image with an empty ``src`` is never
fetched and ReDoc hides it), so the page loads nothing but this server's files.
The page (``olympus_docs/redoc.html``) loads no fonts from elsewhere and starts ReDoc
with a script carrying the Content-Security-Policy nonce.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularRedocView

SIDECAR_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _offline_bundle() -> bytes:
    found = finders.find(SIDECAR_BUNDLE)
    if not isinstance(found, str):  # the sidecar is a runtime requirement: its bundle is always there
        raise RuntimeError(f"{SIDECAR_BUNDLE} not found by the static files finders")
    return Path(found).read_bytes().replace(REDOCLY_LOGO, b"")


@require_GET
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_offline_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


class RedocView(SpectacularRedocView):
    template_name = "olympus_docs/redoc.html"

    @staticmethod
    def _redoc_standalone() -> str:
        return reverse("redoc-bundle")
