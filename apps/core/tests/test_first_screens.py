"""The first screens a person meets: home, favicon, the plain 404, the pages behind emailed links."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_home_page_links_to_the_docs_the_admin_and_graphql(client):
    response = client.get("/")

    assert response.status_code == 200
    body = response.content.decode()
    for url in ("/api/docs/", "/api/redoc/", "/graphql", "/admin/", "/health"):
        assert f'href="{url}' in body


def test_admin_view_site_goes_to_a_page_that_exists(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    index = client.get("/admin/")
    view_site = re.search(r'<a href="([^"]+)">View site</a>', index.content.decode()).group(1)

    assert client.get(view_site).status_code == 200


def test_favicon_is_served_and_linked_from_the_admin(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in client.get("/admin/login/").content.decode()


@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_page_is_plain_and_never_lists_the_urlconf(client, settings, debug):
    settings.DEBUG = debug

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert "URLconf" not in body
    assert "admin/" not in body.replace('href="/admin/', "")  # no list of patterns


def test_a_missing_api_path_keeps_the_json_envelope_with_debug_on(client, settings):
    settings.DEBUG = True

    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_append_slash_still_redirects_with_debug_on(client, settings):
    settings.DEBUG = True

    assert client.get("/admin").status_code == 301


@pytest.mark.parametrize(
    ("path", "api_name"),
    [("/verify-email", "auth-verify-email"), ("/reset-password", "auth-password-reset-confirm")],
)
def test_emailed_link_pages_are_forms_that_call_the_api_from_a_static_script(client, settings, path, api_name):
    settings.ACCOUNT_PAGES = True

    response = client.get(f"{path}?token=abc")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-api="{reverse(api_name)}"' in body
    assert re.search(r'<script src="/static/accounts/pages\.js" defer></script>', body)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), "no inline script (CSP)"
    assert not re.search(r"\son[a-z]+\s*=", body), "no inline event handler (CSP)"
    assert client.get("/static/accounts/pages.js").status_code == 200


@pytest.mark.parametrize("path", ["/verify-email", "/reset-password"])
def test_emailed_link_pages_are_not_served_when_a_web_client_has_them(client, settings, path):
    settings.ACCOUNT_PAGES = False

    assert client.get(f"{path}?token=abc").status_code == 404


def test_emailed_links_point_at_the_pages_olympus_serves_without_a_frontend(settings):
    from apps.accounts.emails import frontend_link

    settings.FRONTEND_URL = "http://127.0.0.1:8000"

    link = frontend_link("/reset-password", token="t0k")

    assert link == "http://127.0.0.1:8000/reset-password?token=t0k"
    assert Client().get(link.removeprefix(settings.FRONTEND_URL)).status_code == 200
