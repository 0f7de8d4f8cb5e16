"""Cached product reads: always fresh after a write, never crossing tenants or views."""

import threading
import time

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from apps.catalog import cache as catalog_cache
from apps.catalog import services
from apps.catalog.tests.factories import ProductFactory, vid

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def cache_count(kind: str, result: str) -> float:
    return REGISTRY.get_sample_value("olympus_catalog_cache_requests_total", {"kind": kind, "result": result}) or 0.0


def test_second_read_is_a_hit_without_product_queries(api_client, organization, django_assert_num_queries):
    ProductFactory.create_batch(3, organization=organization)
    misses, hits = cache_count("list", "miss"), cache_count("list", "hit")
    api_client.get(f"{URL}?organization=acme")
    with django_assert_num_queries(0):  # the organization and the page both come from the cache
        response = api_client.get(f"{URL}?organization=acme")
    assert len(response.json()["results"]) == 3
    assert cache_count("list", "miss") == misses + 1
    assert cache_count("list", "hit") == hits + 1


WRITES = {
    "create": lambda org, p: services.product_create(
        organization=org, data={"name": "Fresh", "price_cents": 1}, status="active"
    ),
    "update": lambda org, p: services.product_update(product=p, data={"price_cents": 4321}),
    "archive": lambda org, p: services.product_archive(product=p),
    "delete": lambda org, p: services.product_delete(product=p),
    "adjust": lambda org, p: services.product_adjust_inventory(product=p, delta=5, reason="r"),
    "bulk": lambda org, p: services.product_bulk_update(
        organization_ids=[org.id], ids=[p.id], changes={"price_cents": 77}
    ),
    "reserve": lambda org, p: services.stock_reserve(quantities={vid(p): 1}),
}


@pytest.mark.parametrize("write", WRITES)
def test_list_and_detail_are_fresh_after_each_kind_of_write(
    api_client_for, member, organization, write, django_capture_on_commit_callbacks
):
    # given: cached list and detail
    product = ProductFactory(organization=organization, price_cents=1000, inventory_quantity=10)
    client = api_client_for(member)
    list_url, detail_url = f"{URL}?organization=acme", f"{URL}{product.id}/"
    before_list, before_detail = client.get(list_url).json(), client.get(detail_url).json()
    assert client.get(list_url).json() == before_list  # served from cache
    # when
    with django_capture_on_commit_callbacks(execute=True):
        WRITES[write](organization, product)
    # then: the very next reads see the change
    after_list, after_detail = client.get(list_url).json(), client.get(detail_url)
    assert after_list != before_list
    if write != "create":
        assert after_detail.status_code == 404 or after_detail.json() != before_detail


def test_one_tenants_cache_never_serves_another(api_client, organization, other_organization):
    ProductFactory(organization=organization, name="Acme thing")
    ProductFactory(organization=other_organization, name="Globex thing")
    acme = api_client.get(f"{URL}?organization=acme").json()
    globex = api_client.get(f"{URL}?organization=globex").json()
    assert [r["name"] for r in acme["results"]] == ["Acme thing"]
    assert [r["name"] for r in globex["results"]] == ["Globex thing"]


def test_members_view_is_never_served_to_anonymous(api_client, api_client_for, member, organization):
    draft = ProductFactory(organization=organization, status="draft", published_at=None)
    active = ProductFactory(organization=organization)
    member_view = api_client_for(member).get(f"{URL}?organization=acme").json()
    assert {r["id"] for r in member_view["results"]} == {str(draft.id), str(active.id)}
    anonymous = api_client.get(f"{URL}?organization=acme").json()
    assert [r["id"] for r in anonymous["results"]] == [str(active.id)]
    assert "inventory_quantity" not in anonymous["results"][0]
    # detail too
    api_client_for(member).get(f"{URL}{active.id}/")
    assert "inventory_quantity" not in api_client.get(f"{URL}{active.id}/").json()


def test_version_bump_is_per_organization(organization, other_organization):
    before = catalog_cache.versions([str(organization.id), str(other_organization.id)])
    catalog_cache.bump(organization.id)
    after = catalog_cache.versions([str(organization.id), str(other_organization.id)])
    assert after[str(organization.id)] == before[str(organization.id)] + 1
    assert after[str(other_organization.id)] == before[str(other_organization.id)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_misses_compute_once():
    calls = []
    key = catalog_cache.make_key("test", {"x": 1}, "concurrent")
    barrier = threading.Barrier(6)
    results = []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"value": 42}

    def read():
        barrier.wait()
        results.append(catalog_cache.get_or_compute(key, "test", compute))
        connection.close()

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [{"value": 42}] * 6


def test_cache_counters_appear_in_metrics(client, api_client, organization):
    api_client.get(URL)
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer test-metrics-token").content.decode()
    assert "olympus_catalog_cache_requests_total" in text


def test_deleting_an_organization_empties_its_cached_lists(
    api_client, owner, organization, django_capture_on_commit_callbacks
):
    from apps.organizations import services as organization_services

    ProductFactory(organization=organization)
    assert len(api_client.get(f"{URL}?organization=acme").json()["results"]) == 1
    assert len(api_client.get(URL).json()["results"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        organization_services.organization_delete(organization=organization, actor=owner)
    assert api_client.get(f"{URL}?organization=acme").json()["results"] == []
    assert api_client.get(URL).json()["results"] == []


def test_fast_list_rows_match_the_serializer(api_client_for, member, organization, other_organization):
    from apps.catalog.serializers import ProductOutputSerializer

    mine = ProductFactory(organization=organization, compare_at_price_cents=1500, attributes={"a": 1})
    theirs = ProductFactory(organization=other_organization, inventory_quantity=0)
    rows = {r["id"]: r for r in api_client_for(member).get(URL).json()["results"]}
    context = {"member_of": frozenset({organization.id})}
    assert rows[str(mine.id)] == ProductOutputSerializer(mine, context=context).data
    assert rows[str(theirs.id)] == ProductOutputSerializer(theirs, context=context).data


def test_rows_written_by_postgresql_match_the_serializer_in_every_case(
    api_client, api_client_for, member, organization, other_organization
):
    """The list's rows are JSON written by SQL (serializers.ROW_JSON_SQL): every computed field agrees."""
    from datetime import UTC, datetime

    from apps.catalog.models import Product
    from apps.catalog.serializers import ProductOutputSerializer
    from apps.catalog.tests.factories import VariantFactory, make_category

    category = make_category(organization, "Lamps")
    varied = ProductFactory(
        organization=organization, name='Lamp "Ü" \\ \u2028', category=category, barcode="123",
        attributes={"nested": {"k": [1, "two", None]}}, rating_sum=107, rating_count=40,  # 2.675: half up
        published_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds: none printed
        sku="DEF", inventory_quantity=0, track_inventory=True,
    )  # fmt: skip
    # Variants before the default in position; a price override; untracked; on backorder with no stock.
    VariantFactory(product=varied, position=-1, price_cents=2500, inventory_quantity=3)
    VariantFactory(product=varied, position=-2, track_inventory=False, inventory_quantity=99)
    VariantFactory(product=varied, position=5, allow_backorder=True, inventory_quantity=-4)
    sold_out = ProductFactory(organization=other_organization, inventory_quantity=0, published_at=None)
    rated = ProductFactory(organization=other_organization, rating_sum=9, rating_count=2)  # 4.5
    Product.objects.filter(pk=sold_out.pk).update(created_at=datetime(2026, 5, 6, 7, 8, 9, 123000, tzinfo=UTC))
    for client, member_of in ((api_client_for(member), frozenset({organization.id})), (api_client, frozenset())):
        rows = {r["id"]: r for r in client.get(f"{URL}?page_size=100").json()["results"]}
        for product in (varied, sold_out, rated):
            product = Product.objects.get(pk=product.pk)
            expected = ProductOutputSerializer(product, context={"member_of": member_of}).data
            assert rows[str(product.id)] == expected
            assert list(rows[str(product.id)]) == list(expected)  # the same fields, in the same order
    assert rows[str(varied.id)]["rating_average"] == 2.68
    assert rows[str(varied.id)]["sku"] == "DEF"
    assert [v["effective_price_cents"] for v in rows[str(varied.id)]["variants"]] == [1000, 2500, 1000, 1000]


def test_sql_and_python_rating_averages_agree():
    """Every mean of up to 300 ratings of 1 to 5: the list's SQL rounds as models.rating_average does."""
    from apps.catalog.models import rating_average

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s, c, round(s::numeric / c, 2)::float8 FROM generate_series(1, 300) c, generate_series(c, 5 * c) s"
        )
        rows = cursor.fetchall()
    assert len(rows) > 100_000
    assert [(s, c, rating_average(s, c)) for s, c, _ in rows] == rows


# --- one round trip on a hit; invalidation scoped to the organization that changed (issues 19, 21) -----


@pytest.fixture
def round_trips(monkeypatch):
    """Counts what is sent to Redis: one call per command, or per pipeline (a spy: the commands still run)."""
    import redis.connection

    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def spy(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
    return sent


def test_a_cached_page_is_one_redis_round_trip_with_the_rate_limits(
    api_client, organization, round_trips, django_assert_num_queries
):
    ProductFactory.create_batch(2, organization=organization)
    api_client.get(f"{URL}?organization=acme")
    round_trips.clear()
    with django_assert_num_queries(0):
        response = api_client.get(f"{URL}?organization=acme")
    assert len(response.json()["results"]) == 2
    assert response["RateLimit-Limit"]  # the buckets were checked in the same call
    assert len(round_trips) == 1


def test_a_miss_takes_the_lock_in_the_same_round_trip_and_stores_in_one_more(api_client, organization, round_trips):
    ProductFactory(organization=organization)
    api_client.get(f"{URL}?organization=acme")  # the organization filter is resolved and remembered
    round_trips.clear()
    api_client.get(f"{URL}?organization=acme&page_size=7")  # a new page: a miss
    assert len(round_trips) == 2  # script (rate limits, versions, page, lock) + one pipeline (page, unlock)


def test_an_order_in_one_organization_leaves_another_organizations_cached_list_a_hit(
    api_client, member, organization, other_organization, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from apps.orders import services as order_services
    from apps.orders.tests.factories import ADDRESS

    sold = ProductFactory(organization=organization, inventory_quantity=10)
    ProductFactory(organization=other_organization)
    globex_url = f"{URL}?organization=globex"
    before = api_client.get(globex_url).json()
    shared_before = api_client.get(URL).json()
    # when: an order in acme changes acme's stock
    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_place(
            user=member,
            organization=organization,
            items=[{"product": sold.pk, "quantity": 1}],
            shipping_address=ADDRESS,
        )
    # then: globex's page and the cross-tenant page are still hits
    hits = cache_count("list", "hit")
    with django_assert_num_queries(0):
        assert api_client.get(globex_url).json() == before
        assert api_client.get(URL).json() == shared_before
    assert cache_count("list", "hit") == hits + 2


def test_a_product_write_invalidates_only_its_organization(
    api_client, organization, other_organization, django_capture_on_commit_callbacks
):
    product = ProductFactory(organization=organization)
    ProductFactory(organization=other_organization)
    acme_before = api_client.get(f"{URL}?organization=acme").json()
    api_client.get(f"{URL}?organization=globex")
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product=product, data={"price_cents": 4321})
    misses, hits = cache_count("list", "miss"), cache_count("list", "hit")
    assert api_client.get(f"{URL}?organization=acme").json() != acme_before
    api_client.get(f"{URL}?organization=globex")
    assert (cache_count("list", "miss"), cache_count("list", "hit")) == (misses + 1, hits + 1)


def test_members_read_their_own_writes_in_the_cross_tenant_list(
    api_client_for, member, organization, other_organization, django_capture_on_commit_callbacks
):
    product = ProductFactory(organization=organization, price_cents=1000)
    client = api_client_for(member)
    assert {r["price_cents"] for r in client.get(URL).json()["results"]} == {1000}
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product=product, data={"price_cents": 4321})
    assert {r["price_cents"] for r in client.get(URL).json()["results"]} == {4321}


def test_a_stale_shared_page_is_served_while_another_process_refreshes_it(
    api_client, organization, settings, django_assert_num_queries
):
    from django.core.cache import cache
    from django_redis import get_redis_connection

    settings.CATALOG_SHARED_LIST_FRESH_SECONDS = 0  # every stored cross-tenant page is stale at once
    ProductFactory(organization=organization)
    first = api_client.get(f"{URL}?page_size=3")
    # another process holds the refresh lock of this page
    redis = get_redis_connection("default")
    keys = [
        key
        for key in redis.scan_iter(match=cache.make_key("catalog:list:") + "*", count=1000)
        if not key.endswith(b":lock") and redis.get(key).endswith(first.content)
    ]
    assert len(keys) == 1
    redis.set(keys[0] + b":lock", b"1", px=10_000)
    hits = cache_count("list", "hit")
    with django_assert_num_queries(0):
        assert api_client.get(f"{URL}?page_size=3").content == first.content
    assert cache_count("list", "hit") == hits + 1
    # the lock released: the next reader refreshes it
    redis.delete(keys[0] + b":lock")
    misses = cache_count("list", "miss")
    assert api_client.get(f"{URL}?page_size=3").content == first.content
    assert cache_count("list", "miss") == misses + 1
