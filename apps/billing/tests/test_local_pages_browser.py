"""The local Stripe's own pages (hosted checkout, billing portal) in a real browser: CSP and
cross-origin headers, zero CSP violations, nothing fetched from another host."""

import pytest

from apps.billing.tests.factories import on_default_plan
from apps.core.tests.browser import chromium, require_chromium
from apps.core.tests.test_csp_browser import directives, visit

pytestmark = pytest.mark.django_db


def test_local_checkout_and_portal_pages_work_under_their_csp(stripe_prices, api_client_for, organization, owner):
    require_chromium()
    # given: a checkout session and a portal session at the local Stripe (made before the browser starts)
    on_default_plan(organization)
    client = api_client_for(owner)
    checkout = client.post(
        "/api/v1/billing/checkout",
        {
            "organization": str(organization.pk),
            "plan": "pro",
            "interval": "month",
            "success_url": "https://app.example.com/done",
            "cancel_url": "https://app.example.com/billing",
        },
        format="json",
    )
    assert checkout.status_code == 201, checkout.content
    portal = client.post(
        "/api/v1/billing/portal",
        {"organization": str(organization.pk), "return_url": "https://app.example.com/billing"},
        format="json",
    )
    assert portal.status_code == 200, portal.content
    pages = [(checkout.json()["checkout_url"], "form button[type=submit]"), (portal.json()["url"], "h1")]
    # when
    with chromium() as browser:
        runs = [
            visit(browser, url.split("/_config/")[0], "/_config/" + url.split("/_config/")[1], ready, None)
            for url, ready in pages
        ]
    # then
    for run in runs:
        policy = directives(run.headers.get("content-security-policy", ""))
        assert policy["default-src"] == ["'none'"], run.path
        assert "script-src" not in policy  # no script at all
        assert run.headers.get("cross-origin-opener-policy") == "same-origin"
        assert run.headers.get("cross-origin-embedder-policy") == "require-corp"
        assert run.headers.get("cross-origin-resource-policy") == "same-origin"
        assert run.violations == [], (run.path, run.violations)
        assert [m for m in run.console if "Content Security Policy" in m] == [], (run.path, run.console)
        assert run.errors == [], run.path
        assert run.outside == [], run.path
