"""Redis paused (SIGSTOP: a hang) and stopped (a refusal) under a real web server: reads keep
answering 200, order placement keeps working (its relay is left to the outbox sweep), every
wait is bounded, nothing is half-written, and the cache is used again once Redis is back.

The server and the Redis are the test's own (see servers.py); the rest of the suite's Redis
is never touched. Production timeouts are used (the suite itself runs with longer ones).
"""

import uuid

import pytest
import redis

from apps.catalog.tests.factories import ProductFactory
from apps.core.models import OutboxEvent
from apps.core.tests.servers import RedisServer, WebServer, database_url_for_this_test, request
from apps.orders.models import Order
from apps.orders.tests.factories import ADDRESS

pytestmark = [pytest.mark.django_db(transaction=True)]

# Each request meets a few 0.5 s socket timeouts at most (about 2 s measured); the bound proves
# no request waits on a hung Redis beyond them, with room for a loaded machine.
BOUND_SECONDS = 5.0


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture
def web(redis_server):
    server = WebServer(
        env={
            "DATABASE_URL": database_url_for_this_test(),
            "REDIS_URL": redis_server.url,
            "REDIS_SOCKET_TIMEOUT": "0.5",
            "REDIS_SOCKET_CONNECT_TIMEOUT": "0.3",
            "PYTEST_XDIST_WORKER": f"outage-{uuid.uuid4().hex[:6]}",
        }
    ).start()
    yield server
    server.stop()


def place(web, token, organization, product):
    return request(
        f"{web.base}/api/v1/orders/",
        method="POST",
        data={
            "organization": str(organization.pk),
            "items": [{"product": str(product.pk), "quantity": 1}],
            "shipping_address": ADDRESS,
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
    )


@pytest.mark.parametrize("fault", ["paused", "stopped"])
def test_reads_and_orders_keep_working_while_redis_is_down(
    fault, redis_server, web, organization, user, api_client_for
):
    # given: a product for sale and a signed-in customer; the list is cached while Redis is up
    product = ProductFactory(organization=organization, inventory_quantity=10)
    token = api_client_for(user).tokens.access
    products = f"{web.base}/api/v1/products/?organization={organization.slug}"
    assert request(products).status == 200

    # when: Redis hangs (SIGSTOP) or is gone
    redis_server.pause() if fault == "paused" else redis_server.stop()
    try:
        read = request(products)
        detail = request(f"{web.base}/api/v1/products/{product.pk}/")
        placed = place(web, token, organization, product)
        graphql = request(f"{web.base}/graphql", method="POST", data={"query": "{ __typename }"})
    finally:
        if fault == "paused":
            redis_server.resume()

    # then: reads answer from the database, the order is placed, each within the bound
    assert read.status == 200, read.body
    assert [row["id"] for row in read.body["results"]] == [str(product.pk)]
    assert detail.status == 200, detail.body
    assert placed.status == 201, placed.body
    assert graphql.status == 200, graphql.body
    slowest = max(reply.seconds for reply in (read, detail, placed, graphql))
    assert slowest < BOUND_SECONDS, [reply.seconds for reply in (read, detail, placed, graphql)]
    # and nothing is half-written: the order, its stock and its event are all there
    order = Order.objects.get(pk=placed.body["id"])
    assert order.items.count() == 1
    product.refresh_from_db()
    assert product.inventory_quantity == 9
    assert OutboxEvent.objects.filter(event_type="order.created", payload__order_id=str(order.pk)).count() == 1


def test_the_cache_is_used_again_once_redis_is_back(redis_server, web, organization):
    # given: Redis was stopped and a read fell back to the database
    ProductFactory(organization=organization)
    products = f"{web.base}/api/v1/products/?organization={organization.slug}"
    redis_server.stop()
    assert request(products).status == 200
    # when: Redis comes back on the same socket (the web server is not restarted)
    redis_server.start()
    # then: the next read stores the page in it again
    assert request(products).status == 200
    client = redis.Redis(unix_socket_path=str(redis_server.socket))
    assert client.keys("*catalog:list:*"), "the read after recovery did not use the cache"
