"""Olympus behind a real PgBouncer in transaction mode (issue 17, docs/databases.md).

Every test here talks to PostgreSQL through PgBouncer (``pool_mode = transaction``,
two server connections) with the settings ``DB_TRANSACTION_POOLER`` gives:
order placement (concurrent buyers multiplexed on the pool), the catalog list,
the outbox relay and a migration check. Skipped where the ``pgbouncer`` binary is
absent (Debian package ``pgbouncer``; ``.ci/run`` installs it when run as root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection, connections

from apps.accounts.tests.factories import UserFactory
from apps.catalog.models import Product
from apps.catalog.tests.factories import ProductFactory
from apps.core import events
from apps.core.models import OutboxEvent
from apps.core.tasks import outbox_relay
from apps.core.tests import pgbouncer as bouncer
from apps.orders import services as order_services
from apps.orders.models import Order
from apps.orders.tests.factories import ADDRESS
from olympus.service_urls import transaction_pooler_ready

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "/api/v1/orders/"
PRODUCTS = "/api/v1/products/"


@pytest.fixture(scope="module")
def pgbouncer():
    if bouncer.binary() is None:
        pytest.skip("PgBouncer is not installed (Debian package pgbouncer; .ci/run installs it when run as root)")
    with bouncer.running_pgbouncer(connections["default"].get_connection_params()) as address:
        yield address


@pytest.fixture
def through_pgbouncer(transactional_db, pgbouncer):
    """The default database reached through PgBouncer, with the transaction pooler settings, for this test."""
    host, port = pgbouncer
    primary = connections["default"]
    saved = dict(primary.settings_dict)
    primary.close()
    # In place: connections of other threads are built from this same dictionary.
    primary.settings_dict.update(
        transaction_pooler_ready(
            {**saved, "HOST": host, "PORT": str(port), "OPTIONS": {**saved["OPTIONS"], "host": host, "port": port}}
        )
    )
    try:
        assert str(connection.get_connection_params()["port"]) == str(port)
        yield
    finally:
        primary.close()
        primary.settings_dict.clear()
        primary.settings_dict.update(saved)


def run_together(functions, timeout=120):
    """Each function in its own thread (own client connection to PgBouncer), started at once."""
    start = threading.Barrier(len(functions))
    results: list[object] = [None] * len(functions)

    def run(index, function):
        try:
            start.wait()
            results[index] = function()
        except Exception as exc:  # reported to the test, never swallowed
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a buyer hung"
    return results


def test_clients_share_a_small_pool_of_server_connections(through_pgbouncer):
    # Twelve clients, one statement each at the same time: PgBouncer runs them on its two server connections.
    def backend_pid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    pids = run_together([backend_pid] * 12)
    assert not [pid for pid in pids if isinstance(pid, Exception)], pids
    assert 1 <= len(set(pids)) <= bouncer.POOL_SIZE


def test_concurrent_order_placement_through_pgbouncer(through_pgbouncer, organization, api_client_for):
    product = ProductFactory(organization=organization, inventory_quantity=5)
    payload = {
        "organization": str(organization.pk),
        "items": [{"product": str(product.pk), "quantity": 1}],
        "shipping_address": ADDRESS,
    }
    clients = [api_client_for(UserFactory()) for _ in range(12)]

    responses = run_together([lambda c=c: c.post(ORDERS, payload, format="json") for c in clients])

    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert Counter(r.status_code for r in responses) == {201: 5, 409: 7}
    assert Product.objects.get(pk=product.pk).inventory_quantity == 0
    assert sorted(Order.objects.values_list("order_number", flat=True)) == list(range(1001, 1006))


def test_catalog_list_through_pgbouncer(through_pgbouncer, organization, api_client, api_client_for, member):
    for n in range(7):
        ProductFactory(organization=organization, name=f"Lamp {n}")
    ProductFactory(organization=organization, name="Draft", status=Product.Status.DRAFT)

    # Page after page, each one transaction of its own, on whichever server connection is free.
    seen, url = [], f"{PRODUCTS}?page_size=3"
    while url:
        response = api_client.get(url)
        assert response.status_code == 200, response.content
        seen += [row["name"] for row in response.json()["results"]]
        url = response.json()["next"]
    assert sorted(seen) == [f"Lamp {n}" for n in range(7)]
    member_view = api_client_for(member).get(f"{PRODUCTS}?organization={organization.id}&page_size=50")
    assert len(member_view.json()["results"]) == 8  # members see drafts too


def test_outbox_relay_through_pgbouncer(through_pgbouncer, organization, user):
    # given: orders placed while a relay is already queued (so their commits do not relay them)
    product = ProductFactory(organization=organization, inventory_quantity=10)
    cache.set(events.RELAY_QUEUED_KEY, 1, timeout=60)
    for _ in range(3):
        order_services.order_place(
            user=user,
            organization=organization,
            items=[{"product": product.pk, "quantity": 1}],
            shipping_address=ADDRESS,
        )
    pending = OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).count()
    assert pending >= 3

    # when: the relay task runs
    dispatched = outbox_relay.apply().get()

    # then
    assert dispatched == pending
    assert not OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).exists()


def test_server_side_cursors_are_off_behind_the_pooler(through_pgbouncer, organization):
    for _ in range(5):
        ProductFactory(organization=organization)
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    # .iterator() outside a transaction would otherwise DECLARE a cursor WITH HOLD and FETCH in later ones.
    assert len(list(Product.objects.iterator(chunk_size=2))) == 5


def test_migration_check_through_pgbouncer(through_pgbouncer):
    """``migrate --check`` in a fresh process configured only by the environment, through PgBouncer."""
    params = connection.get_connection_params()
    url = f"postgresql://{params['user']}@127.0.0.1:{params['port']}/{params['dbname']}"
    script = (
        "import json, django; from olympus.bootstrap import ensure_services; ensure_services(); django.setup();"
        "from django.core.management import call_command; call_command('migrate', check=True, verbosity=0);"
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(json.dumps([d['DISABLE_SERVER_SIDE_CURSORS'], d['OPTIONS']['prepare_threshold']]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "olympus.settings.test",
        "DATABASE_URL": url,
        "DB_TRANSACTION_POOLER": "true",
    }
    result = subprocess.run(  # noqa: S603 - this interpreter, our script
        [sys.executable, "-c", script],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, None]
