"""Redirect URLs are read as a browser reads them, or refused (``apps.core.redirects``)."""

import pytest

from apps.core.redirects import host_allowed, redirect_host

ALLOWED = ["app.example.com", ".shop.example.com", "localhost"]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://app.example.com/billing/done?session={CHECKOUT_SESSION_ID}", "app.example.com"),
        ("https://APP.example.com/x", "app.example.com"),
        ("http://localhost:8000/billing", "localhost"),
        ("https://eu.shop.example.com/#done", "eu.shop.example.com"),
        ("https://app.example.com?x=a@b", "app.example.com"),  # '@' after the authority is a query
        ("https://app.example.com/a@b/c", "app.example.com"),
    ],
)
def test_plain_urls_give_their_host(url, host):
    assert redirect_host(url) == host
    assert host_allowed(host, ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@localhost/x",  # urlsplit: localhost; a browser: evil.example
        "https://evil.example\\@app.example.com/",
        "https:\\\\evil.example/",
        "https://app.example.com\\evil.example/",
        "https:/\\evil.example/",
        "https://localhost\\.evil.example/",
    ],
)
def test_backslashes_are_refused(url):
    assert redirect_host(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example@localhost/x",
        "https://user:pass@app.example.com/",
        "https://app.example.com@evil.example/",
        "https://app.example.com:443@evil.example/",
        "https://@app.example.com/",
        "https://evil.example%40app.example.com/",
        "https://evil.example%2F@app.example.com/",
    ],
)
def test_userinfo_is_refused(url):
    assert redirect_host(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com\t.evil.example/",  # browsers drop the tab: app.example.com.evil.example
        "https://app.example.com\n.evil.example/",
        "https://app.example.com\r/",
        "https://app.example.com\x00.evil.example/",
        "https://app.example.com\x7f/",
        " https://app.example.com/",
        "https://app.example.com /",
        "https://app.example.com\x85/",
    ],
)
def test_control_characters_and_whitespace_are_refused(url):
    assert redirect_host(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https:app.example.com/",  # no "//": browsers still go to the host
        "https:///evil.example/",
        "javascript://app.example.com/%0aalert(1)",
        "ftp://app.example.com/",
        "https://app.example.com%2eevil.example/",
        "https://аpp.example.com/",  # Cyrillic a
        "https://app.example.com:99999/",
        "https://app.example.com:x/",
        "https://[::1]/",
        "https://app..example.com/",
    ],
)
def test_other_ambiguous_forms_are_refused(url):
    assert redirect_host(url) is None


def test_subdomains_only_with_a_leading_dot():
    assert host_allowed("shop.example.com", ALLOWED)
    assert host_allowed("eu.shop.example.com", ALLOWED)
    assert not host_allowed("eu.app.example.com", ALLOWED)
    assert not host_allowed("app.example.com.evil.example", ALLOWED)
    assert not host_allowed("evilshop.example.com", ALLOWED)
