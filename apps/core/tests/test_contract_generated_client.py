"""A client generated from the OpenAPI document works for every role.

``openapi-python-client`` generates a client from ``/api/schema/`` during the
run (into a temporary directory, imported from there). The test then uses only
that client, over Django's WSGI application on the real PostgreSQL and Redis:
sign in, list products with a search and follow the cursor to a second page as
anonymous, customer and owner, place an order with an Idempotency-Key, replay
it and read it back. Every response is parsed by the generated models.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.wsgi import get_wsgi_application

from apps.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from apps.catalog.tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("contract_wsgi")]

PACKAGE = "olympus_generated_client"
BASE_URL = "http://localhost"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_blocker):
    """The generated package, imported from a temporary directory."""
    from django.test import Client

    with django_db_blocker.unblock():
        document = Client().get("/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/json")
    assert document.status_code == 200
    workdir = tmp_path_factory.mktemp("client")
    (workdir / "openapi.json").write_bytes(document.content)
    (workdir / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: the code is imported, not read
    generator = shutil.which("openapi-python-client") or str(Path(sys.executable).parent / "openapi-python-client")
    result = subprocess.run(  # noqa: S603 - our own venv's generator on our own schema
        [
            generator,
            "generate",
            "--path",
            str(workdir / "openapi.json"),
            "--output-path",
            str(workdir / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(workdir / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(workdir))
    try:
        yield _Generated(importlib.import_module(PACKAGE))
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class _Generated:
    def __init__(self, package) -> None:
        self.package = package
        self.api = lambda name: importlib.import_module(f"{PACKAGE}.api.{name}")
        self.models = importlib.import_module(f"{PACKAGE}.models")

    def client(self, token: str | None = None):
        # The generated client over httpx, sent to Django's WSGI application (no socket, same database).
        transport = httpx.WSGITransport(app=get_wsgi_application())
        if token is None:
            return self.package.Client(base_url=BASE_URL, httpx_args={"transport": transport})
        return self.package.AuthenticatedClient(base_url=BASE_URL, token=token, httpx_args={"transport": transport})


def _login(generated: _Generated, email: str):
    login = generated.api("auth.auth_login")
    response = login.sync_detailed(
        client=generated.client(), body=generated.models.LoginRequest(email=email, password=DEFAULT_PASSWORD)
    )
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, generated.models.LoginResponse)
    assert response.parsed.user.email == email
    return generated.client(response.parsed.access)


def _cursor(link: str | None) -> str:
    assert link, "expected another page"
    return parse_qs(urlsplit(link).query)["cursor"][0]


@pytest.fixture
def catalog(organization):
    # Five matching active products (two pages of two, then one) and one that does not match.
    for index in range(5):
        ProductFactory(organization=organization, name=f"Trail runner {index}", status="active", price_cents=1000)
    ProductFactory(organization=organization, name="Rain jacket", status="active")
    return organization


@pytest.mark.parametrize("role", ["anonymous", "customer", "owner"])
def test_generated_client_searches_and_pages_products(generated, catalog, owner, role):
    # given
    if role == "anonymous":
        client = generated.client()
    else:
        user = owner if role == "owner" else UserFactory()
        client = _login(generated, user.email)
    products_list = generated.api("products.products_list")
    # when
    first = products_list.sync_detailed(client=client, search="trail runner", page_size=2)
    # then
    assert first.status_code == 200, first.content
    page = first.parsed
    assert isinstance(page, generated.models.PaginatedProductOutputList)
    assert len(page.results) == 2
    assert all(isinstance(product, generated.models.ProductOutput) for product in page.results)
    assert all("Trail runner" in product.name for product in page.results)
    # members see stock figures, everyone else does not (and the generated model accepts both)
    stock = {product.inventory_quantity for product in page.results}
    if role == "owner":
        assert all(isinstance(quantity, int) for quantity in stock)
    else:
        assert stock == {generated.package.types.UNSET}
    second = products_list.sync_detailed(client=client, search="trail runner", page_size=2, cursor=_cursor(page.next_))
    assert second.status_code == 200, second.content
    assert isinstance(second.parsed, generated.models.PaginatedProductOutputList)
    assert len(second.parsed.results) == 2
    assert {p.id for p in second.parsed.results}.isdisjoint({p.id for p in page.results})


def test_generated_client_places_replays_and_reads_an_order(generated, catalog):
    # given: a customer signed in through the generated client, and a product to buy
    customer = UserFactory()
    client = _login(generated, customer.email)
    product = ProductFactory(organization=catalog, name="Summit pack", status="active", inventory_quantity=10)
    models = generated.models
    body = models.OrderPlaceInputRequest(
        organization=catalog.pk,
        items=[models.OrderLineInputRequest(product=product.pk, quantity=2)],
        shipping_address=models.AddressRequest(
            name="Ada Lovelace", line1="1 Main St", city="London", postal_code="N1 9GU", country="GB"
        ),
    )
    orders_create = generated.api("orders.orders_create")
    # when: placed twice with the same key
    placed = orders_create.sync_detailed(client=client, body=body, idempotency_key="order-14-a")
    replayed = orders_create.sync_detailed(client=client, body=body, idempotency_key="order-14-a")
    # then: one order, the second answer is the replay of the first
    assert placed.status_code == 201, placed.content
    assert isinstance(placed.parsed, models.OrderOutput)
    assert placed.headers["Idempotent-Replayed"] == "false"
    assert replayed.status_code == 201, replayed.content
    assert isinstance(replayed.parsed, models.OrderOutput)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.parsed.id == placed.parsed.id
    assert json.loads(replayed.content) == json.loads(placed.content)
    # and: it reads back, with its line
    read = generated.api("orders.orders_retrieve").sync_detailed(client=client, id=placed.parsed.id)
    assert read.status_code == 200, read.content
    assert isinstance(read.parsed, models.OrderOutput)
    assert read.parsed.id == placed.parsed.id
    assert [(item.product, item.quantity) for item in read.parsed.items] == [(product.pk, 2)]
    assert read.parsed.total_cents == placed.parsed.total_cents


def test_generated_client_parses_errors_into_the_envelope(generated):
    # An error answer parses into the generated ErrorEnvelope model, code included.
    response = generated.api("orders.orders_retrieve").sync_detailed(
        client=generated.client("not-a-token"), id="00000000-0000-4000-8000-000000000000"
    )
    assert response.status_code == 401
    assert isinstance(response.parsed, generated.models.ErrorEnvelope)
    assert response.parsed.error.code.value == "UNAUTHORIZED"
