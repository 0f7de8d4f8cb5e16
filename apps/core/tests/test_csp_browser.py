"""Every HTML page works in a real browser under its Content-Security-Policy: zero CSP violations,
no page errors, nothing fetched from another origin; the security headers are on each page."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.test import Client

from apps.accounts.tests.factories import UserFactory
from apps.catalog.tests.factories import ProductFactory
from apps.core.tests.browser import chromium, require_chromium

pytestmark = [pytest.mark.django_db(transaction=True)]

# Collects CSP violations the page reports (init scripts run outside the page's CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`
  );
});
"""


@dataclass
class PageRun:
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


# (path, what shows once the page has really worked, needs a staff session)
PAGES = [
    ("/admin/login/", "#login-form", False),
    ("/admin/", "#content-main .app-catalog", True),
    ("/admin/catalog/product/", "#changelist", True),
    ("/admin/catalog/product/{product}/change/", "#product_form", True),
    ("/admin/orders/order/", "#changelist", True),
    ("/api/docs/", ".swagger-ui .information-container .title", False),
    ("/api/redoc/", "#redoc-container h1", False),
    ("/graphql", ".graphiql-container .graphiql-editors", False),
]


@pytest.fixture
def staff_cookie(settings):
    """A superuser's session cookie, made before the browser starts (no ORM while it runs)."""
    user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def directives(header: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parsed}


def visit(browser, base_url: str, path: str, ready: str, cookie: str | None) -> PageRun:
    run = PageRun(path)
    context = browser.new_context()
    if cookie:
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": base_url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda m: run.console.append(m.text) if m.type in {"error", "warning"} else None)
    page.on("pageerror", lambda e: run.errors.append(str(e)))
    origin = urlsplit(base_url).netloc

    def guard(route):
        url = urlsplit(route.request.url)
        if url.scheme in {"http", "https", "ws", "wss"} and url.netloc != origin:
            run.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    response = page.goto(base_url + path)
    run.headers = {k.lower(): v for k, v in response.all_headers().items()}
    try:
        page.wait_for_selector(ready, state="attached")
    except Exception as exc:  # say what the page showed instead
        text = page.inner_text("body")[:600]
        raise AssertionError(f"{path}: {ready} never showed at {page.url}: {text!r} {run}") from exc
    page.wait_for_load_state("networkidle")
    run.violations = page.evaluate("window.__cspViolations")
    context.close()
    return run


def test_every_html_page_works_under_its_csp_in_a_real_browser(live_server, staff_cookie, settings, monkeypatch):
    require_chromium()
    product = ProductFactory()
    # given: GraphiQL on (development only by default); the ORM is not touched while the browser runs
    settings.GRAPHQL_GRAPHIQL = True
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the live server's thread uses the ORM
    # when
    with chromium() as browser:
        runs = [
            visit(browser, live_server.url, path.format(product=product.pk), ready, staff_cookie if staff else None)
            for path, ready, staff in PAGES
        ]
    # then
    for run in runs:
        policy = directives(run.headers.get("content-security-policy", ""))
        assert policy["script-src"][0] == "'self'", (run.path, policy)
        assert all(source.startswith("'nonce-") for source in policy["script-src"][1:]), (run.path, policy)
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert run.headers.get("cross-origin-opener-policy") == "same-origin", run.path
        assert run.headers.get("cross-origin-embedder-policy") == "require-corp", run.path
        assert run.headers.get("cross-origin-resource-policy") == "same-origin", run.path
        assert run.violations == [], (run.path, run.violations)
        assert [m for m in run.console if "Content Security Policy" in m] == [], (run.path, run.console)
        assert run.errors == [], (run.path, run.errors)
        assert run.outside == [], (run.path, run.outside)
