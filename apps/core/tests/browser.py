"""Pages in a real browser: Debian's chromium driven by Playwright (never ``playwright install``).

``chromium()`` launches headless chromium; ``chromium_page()`` opens a page that may
reach only one origin and records every request, failure and console error. Tests skip
with the reason when chromium is not installed (``apt-get install -y chromium``;
``.ci/run`` installs it when it runs as root).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip, saying why, where Debian's chromium is not installed (CI installs it: `.ci/run`)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` runs these tests")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API); Django's ORM must not be used while it runs."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What the page asked for: every request, those refused as outside hosts, and failures."""

    allowed_origin: str
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@contextmanager
def chromium_page(allowed_origin: str) -> Iterator[tuple[Any, PageLog]]:
    """A page that may only reach ``allowed_origin``; any other request is aborted and recorded."""
    log = PageLog(allowed_origin=allowed_origin.rstrip("/"))
    origin = urlsplit(log.allowed_origin)

    def route(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob"} or (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc):
            route.continue_()
        else:
            log.outside.append(url)
            route.abort()

    with chromium() as browser:
        page = browser.new_page()
        page.route("**/*", route)
        page.on("request", lambda request: log.requests.append(request.url))
        page.on("requestfailed", lambda request: log.failed.append(f"{request.url} {request.failure}"))
        page.on("console", lambda message: message.type == "error" and log.console_errors.append(message.text))
        yield page, log
