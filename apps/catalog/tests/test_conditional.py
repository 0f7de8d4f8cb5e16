"""Good manners on public reads: Cache-Control, ETag and 304 for If-None-Match on the product list and detail."""

import pytest

from apps.catalog import services
from apps.catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization, name="Kettle")


@pytest.mark.parametrize("path", ["list", "detail"])
def test_an_unchanged_read_answers_304_without_a_body(api_client, product, path):
    url = URL if path == "list" else f"{URL}{product.pk}/"
    first = api_client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert first["Cache-Control"] == "public, max-age=60"
    assert "Authorization" in first["Vary"]

    again = api_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert api_client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304  # weak match, lists
    assert api_client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


@pytest.mark.parametrize("path", ["list", "detail"])
def test_a_write_changes_the_etag(api_client, product, path, django_capture_on_commit_callbacks):
    # The organization's own list: the cross-tenant one is refreshed on a timer (docs/catalog.md).
    url = f"{URL}?organization={product.organization_id}" if path == "list" else f"{URL}{product.pk}/"
    etag = api_client.get(url)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):  # the cached reads are dropped on commit
        services.product_update(product=product, data={"name": "Kettle II"})
    fresh = api_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200
    assert fresh["ETag"] != etag
    assert "Kettle II" in fresh.content.decode()


def test_a_members_view_is_private_and_differs_from_the_public_one(api_client, api_client_for, member, product):
    url = f"{URL}{product.pk}/"
    public = api_client.get(url)
    private = api_client_for(member).get(url)
    assert private["Cache-Control"] == "private, no-cache"
    assert private["ETag"] != public["ETag"]  # stock figures are in the member's view only
    assert api_client_for(member).get(url, HTTP_IF_NONE_MATCH=private["ETag"]).status_code == 304
    assert api_client_for(member).get(url, HTTP_IF_NONE_MATCH=public["ETag"]).status_code == 200
