"""Read replicas (issue 17): the router against a real streaming replica of the embedded PostgreSQL.

The standby is a physical replica (``pg_basebackup``, streaming WAL through a
slot). Pausing its WAL replay makes replica lag certain instead of likely: a
row committed on the primary while replay is paused is missing on the replica
until replay resumes, so where a page was read from shows in what it contains.
The tests commit (``transaction=True``): a replica only sees committed data.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest
from celery import shared_task
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.analytics import services as analytics_services
from apps.catalog.tests.factories import ProductFactory
from apps.core import replicas
from apps.core.tests.standby import STANDBY_PORT, running_standby
from apps.orders.tests.factories import OrderFactory
from olympus import embedded

pytestmark = pytest.mark.django_db(transaction=True)

ALIAS = "replica1"
PRODUCTS = "/api/v1/products/"
DAY = date(2026, 3, 2)


@pytest.fixture(scope="module")
def standby():
    if "DATABASE_URL" not in embedded.embedded_in_use():
        pytest.skip("a streaming standby is started from the embedded PostgreSQL; DATABASE_URL names another server")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    host = connections["default"].get_connection_params()["host"]  # the embedded server's socket directory
    # One slot per test process (the name ends in its pid, so a killed run's slot can be told apart).
    with running_standby(primary_host=host, slot=f"olympus_test_standby_{worker}_{os.getpid()}") as server:
        yield server


def _add_replica_alias(settings, *, host):
    """Open ``replica1`` (the primary's test database at ``host``) as a connection made during the test.

    The alias is left out of ``connections.settings`` once its connection object exists: Django's test
    case then treats it as created by the test (allowed, never flushed: a standby is read-only).
    """
    primary = connections["default"].settings_dict
    connections.settings[ALIAS] = {
        **primary,
        "HOST": host,
        "PORT": str(STANDBY_PORT),
        "OPTIONS": {**primary["OPTIONS"], "host": host},
        "TEST": {"MIRROR": "default"},
    }
    connections[ALIAS]  # noqa: B018 - creates this thread's connection object
    del connections.settings[ALIAS]
    settings.DATABASE_REPLICAS = [ALIAS]


def _drop_replica_alias():
    connections[ALIAS].close()
    del connections[ALIAS]
    replicas._down_until.clear()


@pytest.fixture
def replica(standby, settings):
    """``replica1`` is the standby (reading the test database), in ``DATABASE_REPLICAS``; replay running."""
    _add_replica_alias(settings, host=str(standby.data))
    # A window no test step can outlast on a loaded machine: its end is simulated by deleting the key.
    settings.DATABASE_REPLICA_PIN_SECONDS = 600
    standby.catch_up()
    yield standby
    standby.resume_replay()
    _drop_replica_alias()


def names(response):
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def test_the_standby_is_a_read_only_streaming_replica(replica, organization):
    assert replica.in_recovery()
    product = ProductFactory(organization=organization, name="Replicated")
    replica.catch_up()
    from apps.catalog.models import Product

    assert Product.objects.using(ALIAS).get(pk=product.pk).name == "Replicated"
    with pytest.raises(Exception, match="read-only transaction"):
        Product.objects.using(ALIAS).filter(pk=product.pk).update(name="Written on the replica")


def test_anonymous_catalog_reads_come_from_the_replica(replica, organization, api_client, api_client_for, member):
    ProductFactory(organization=organization, name="Old")
    replica.catch_up()
    replica.pause_replay()
    ProductFactory(organization=organization, name="New")  # committed on the primary, not replayed

    # Right after a catalog write, anonymous catalog reads stay on the primary for the pin window.
    assert (
        0
        < cache.ttl(replicas.APP_PIN_KEY.format(app_label="catalog"))
        <= replicas.settings.DATABASE_REPLICA_PIN_SECONDS
    )
    assert names(api_client.get(PRODUCTS)) == {"Old", "New"}

    # Once the window is over (its key gone), they come from the replica, which has not replayed "New".
    cache.delete(replicas.APP_PIN_KEY.format(app_label="catalog"))
    with CaptureQueriesContext(connections[ALIAS]) as on_replica:
        assert names(api_client.get(f"{PRODUCTS}?ordering=name")) == {"Old"}
    assert any("catalog_product" in query["sql"] for query in on_replica.captured_queries)

    # A signed-in member's catalog reads go to the primary.
    assert {"Old", "New"} <= names(api_client_for(member).get(f"{PRODUCTS}?ordering=-name"))

    # When the replica has replayed the write, anonymous readers see it too.
    replica.resume_replay()
    replica.catch_up()
    assert names(api_client.get(f"{PRODUCTS}?ordering=-created_at")) == {"Old", "New"}


def _daily(client, organization):
    url = f"/api/v1/organizations/{organization.id}/analytics/daily/?from={DAY}&to={DAY}"
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"][0]["order_count"]


def test_a_user_reads_analytics_from_the_primary_for_a_while_after_writing(
    replica, organization, api_client_for, owner, member
):
    # given: analytics refreshed on the primary while the replica is paused
    replica.pause_replay()
    OrderFactory(
        organization=organization,
        status="confirmed",
        total_cents=1000,
        subtotal_cents=1000,
        created_at=datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC),
        lines=[],
    )
    analytics_services.analytics_refresh()
    owner_client, member_client = api_client_for(owner), api_client_for(member)

    # Analytics reads go to the replica: it has not replayed the order.
    assert _daily(owner_client, organization) == 0

    # when: the owner writes something (any write)
    created = owner_client.post(
        PRODUCTS, {"organization": str(organization.id), "name": "Lamp", "price_cents": 100}, format="json"
    )
    assert created.status_code == 201, created.content

    # then: the owner reads from the primary for the pin window; the member, who wrote nothing, from the replica
    assert _daily(owner_client, organization) == 1
    assert _daily(member_client, organization) == 0
    assert 0 < cache.ttl(replicas.PIN_KEY.format(user_id=owner.pk)) <= replicas.settings.DATABASE_REPLICA_PIN_SECONDS

    # and once the replica has caught up, everyone sees the order
    replica.resume_replay()
    replica.catch_up()
    assert _daily(member_client, organization) == 1


@shared_task
def _write_then_read(organization_id: str) -> list[str]:
    """A task that reads analytics, writes, then reads analytics again."""
    from apps.organizations.models import Organization

    before = replicas.read_alias("analytics")
    ProductFactory(organization=Organization.objects.get(pk=organization_id))
    return [before, replicas.read_alias("analytics")]


def test_a_task_that_wrote_reads_from_the_primary_for_the_rest_of_it(replica, organization):
    assert _write_then_read.delay(str(organization.id)).get() == [ALIAS, "default"]
    # The next task starts afresh.
    assert _write_then_read.delay(str(organization.id)).get() == [ALIAS, "default"]


def test_a_request_scope_is_pinned_by_raw_sql_writes_too(replica, organization):
    with replicas.scope() as current:
        assert replicas.read_alias("analytics") == ALIAS
        with connections["default"].cursor() as cursor:
            cursor.execute("UPDATE organizations_organization SET name = name WHERE id = %s", [organization.pk])
        assert current.wrote
        assert replicas.read_alias("analytics") == "default"


def test_reads_inside_a_transaction_stay_on_the_primary(replica):
    from django.db import transaction

    with replicas.scope(), transaction.atomic():
        assert replicas.read_alias("analytics") == "default"


# --- without a standby --------------------------------------------------------------------------------


@pytest.fixture
def unreachable_replica(settings, tmp_path):
    _add_replica_alias(settings, host=str(tmp_path))  # no server listens there
    yield
    _drop_replica_alias()


def test_an_unreachable_replica_is_skipped_for_the_primary(unreachable_replica, organization, api_client):
    ProductFactory(organization=organization, name="Listed")
    cache.delete(replicas.APP_PIN_KEY.format(app_label="catalog"))

    assert names(api_client.get(PRODUCTS)) == {"Listed"}
    assert ALIAS in replicas._down_until  # not tried again for DATABASE_REPLICA_RETRY_SECONDS


@pytest.mark.django_db
def test_without_replicas_everything_is_the_primary(settings):
    settings.DATABASE_REPLICAS = []
    router = replicas.PrimaryReplicaRouter()
    assert replicas.read_alias("analytics") == "default"
    from apps.analytics.models import DailyMetric

    assert router.db_for_read(DailyMetric) is None  # Django's own choice: default


def test_writes_and_migrations_never_go_to_a_replica(unreachable_replica):
    from apps.catalog.models import Product

    router = replicas.PrimaryReplicaRouter()
    assert router.db_for_write(Product) == "default"
    assert router.allow_migrate(ALIAS, "catalog") is False
    assert router.allow_migrate("default", "catalog") is None  # Django's default: migrate it
    assert replicas.read_alias("orders") == "default"
    assert replicas.read_alias("catalog") == "default"  # not an anonymous request


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("SELECT 1", False),
        ('  SELECT "catalog_product"."id" FROM "catalog_product" FOR UPDATE', False),
        ('SAVEPOINT "s1"', False),
        ('RELEASE SAVEPOINT "s1"', False),
        ("INSERT INTO catalog_product VALUES (1)", True),
        ("UPDATE catalog_product SET name = 'x'", True),
        ("DELETE FROM catalog_product", True),
        ("REFRESH MATERIALIZED VIEW analytics_daily", True),
        ("WITH n AS (SELECT 1) SELECT * FROM n", False),
        ("WITH n AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM n", True),
        ("(SELECT 1) UNION (SELECT 2)", False),
    ],
)
@pytest.mark.django_db
def test_which_statements_count_as_writes(sql, writes):
    assert replicas.is_write(sql) is writes
