"""The Content-Security-Policy middleware builds the configured policy once, and sets exactly the headers
django-csp's own middleware sets, in every case django-csp distinguishes."""

import re
from collections.abc import Callable

import pytest
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from apps.core.headers import ContentSecurityPolicyMiddleware

HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")


def _headers(middleware_class, path: str, make: Callable[[], HttpResponse], *, use_nonce: bool) -> dict:
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: make())
    middleware.process_request(request)
    if use_nonce:
        str(request.csp_nonce)  # a template put the nonce in an inline script
    response = middleware.process_response(request, make())
    if not use_nonce:
        with pytest.raises(CSPNonceError):
            str(request.csp_nonce)  # too late for a nonce now
    return {name: _normal(response.get(name)) for name in HEADERS}


def _normal(policy: str | None) -> list[str] | None:
    """The directives in order, a nonce (random per request) as ``nonce-N``."""
    return None if policy is None else sorted(re.sub(r"'nonce-[^']+'", "'nonce-N'", policy).split("; "))


def _json():
    return JsonResponse({"ok": True})


def _with_header():
    response = _json()
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def _exempt():
    response = _json()
    response._csp_exempt = True
    return response


def _updated():
    response = HttpResponse("<p>hi</p>")
    response._csp_update = {"img-src": ["https://images.example.com"]}
    return response


CASES = {
    "api": (_json, False),
    "header-already-set": (_with_header, False),
    "exempt": (_exempt, False),
    "per-view-update": (_updated, False),
    "nonce-used": (lambda: HttpResponse("<script>1</script>"), True),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("report_only", [False, True], ids=["enforced", "with-report-only"])
def test_the_headers_are_django_csps(case, report_only, settings):
    if report_only:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/r"}}
    make, use_nonce = CASES[case]

    ours = _headers(ContentSecurityPolicyMiddleware, "/api/v1/orders/", make, use_nonce=use_nonce)
    theirs = _headers(CSPMiddleware, "/api/v1/orders/", make, use_nonce=use_nonce)

    assert ours == theirs
    if case != "exempt":
        assert ours["Content-Security-Policy"]
    assert bool(ours["Content-Security-Policy-Report-Only"]) is report_only


def test_a_settings_change_is_followed_and_excluded_prefixes_are_kept(settings):
    before = _headers(ContentSecurityPolicyMiddleware, "/api/", _json, use_nonce=False)["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in before
    assert "script-src 'self'" in before  # no nonce asked for: none in the header

    directives = {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "frame-ancestors": ["'self'"]}
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives, "EXCLUDE_URL_PREFIXES": ["/excluded/"]}

    after = _headers(ContentSecurityPolicyMiddleware, "/api/", _json, use_nonce=False)["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in after
    assert "frame-ancestors 'none'" not in after
    assert after == _headers(CSPMiddleware, "/api/", _json, use_nonce=False)["Content-Security-Policy"]
    excluded = _headers(ContentSecurityPolicyMiddleware, "/excluded/page", _json, use_nonce=False)
    assert excluded == _headers(CSPMiddleware, "/excluded/page", _json, use_nonce=False)
    assert excluded["Content-Security-Policy"] is None
