"""A real HTTP receiver on the loopback (pytest-httpserver) and endpoints pointing at it."""

import pytest

from apps.webhooks.tests.factories import WebhookEndpointFactory


@pytest.fixture(scope="session")
def httpserver_listen_address():
    # An address, not "localhost": the test settings allow exactly 127.0.0.1.
    return ("127.0.0.1", 0)


@pytest.fixture
def receiver_url(httpserver):
    return httpserver.url_for("/hooks")


@pytest.fixture
def endpoint(organization, owner, receiver_url):
    """An endpoint of ``organization`` (which has an owner to email) subscribed to everything."""
    return WebhookEndpointFactory(organization=organization, url=receiver_url)
