"""The API docs (ReDoc and Swagger UI) render in a real browser with no request outside the server."""

from __future__ import annotations

import pytest

from apps.core.tests.browser import chromium_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        # ReDoc lists the operations once it has loaded the schema.
        ("/api/redoc/", "text=Place an order"),
        ("/api/docs/", "text=Place an order"),
    ],
)
def test_docs_page_renders_offline(live_server, path, rendered):
    with chromium_page(live_server.url) as (page, log):
        # when
        response = page.goto(live_server.url + path, wait_until="networkidle")
        page.wait_for_selector(rendered, state="attached", timeout=30_000)
        page.wait_for_load_state("networkidle")
    # then: the page, its assets and the schema all came from the server, and nothing failed
    assert response is not None
    assert response.status == 200
    assert any("/api/schema/" in url for url in log.requests), log.requests
    assert log.outside == []
    assert log.failed == []
    assert log.console_errors == []
