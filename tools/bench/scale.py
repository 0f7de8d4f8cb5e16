"""`make bench-scale`: the same requests on a large and a small database in one run; large/small ratios.

Not part of `make bench` (it needs its own PostgreSQL and minutes of generation): `make bench`
names it. The Makefile points ``OLYMPUS_DATA_DIR`` at ``.data/scale``, so an embedded
PostgreSQL and Redis of its own keep the generated databases between runs: a rerun only
measures. Two databases in that cluster, ``olympus_scale_large`` and ``olympus_scale_small``,
are generated set-based (``INSERT … SELECT generate_series``, copying one template row of each
model made by the ORM), never one ORM row at a time:

- organizations (``SCALE_ORGS``, default 10,000), a few of them (``SCALE_BIG_ORGS``, 3) holding
  ``SCALE_BIG_SIZE`` (100,000) products and orders each, the rest sharing the remainder;
- products (``SCALE_PRODUCTS``, 1,000,000; one in seven soft-deleted, names from a word list so
  that search selects), orders (``SCALE_ORDERS``, 1,000,000) of 50 customers per organization
  interleaved in time, one item each, and an audit entry per order and per product;
- the small database: the same shape at ``SCALE_SMALL_DIVISOR`` (500) times fewer rows.

Each database is served by a process of its own (``--child``), measured through Django's test
client (the whole middleware and DRF stack, no sockets): product list (anonymous, member, search;
the page cache emptied before each request, so every request reads the database), order list,
placement, the admin changelists of orders, products and the audit log, a GraphQL query with
nested lists, then the analytics refresh and the audit partition maintenance, timed once. Both
processes stay up and take turns: each request is measured ``SCALE_BENCH_SECONDS`` (2) on one
size, then on the other, ``SCALE_BENCH_ROUNDS`` (3) times, which size goes first alternating, so a
drift in the shared machine's speed weighs on both alike. The report prints each request's
median per-second figure on both sizes, the median of the rounds' ratios large/small (target
≥ 0.8) with every round's ratio, and the refresh and maintenance times against their schedule
intervals. Generation is
bounded: it stops before starting when the disk holding ``.data`` lacks room for an estimate
of the rows (about 4 KB per product or order with its indexes, audit and items).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]
WORDS = [
    "espresso",
    "kettle",
    "lamp",
    "chair",
    "desk",
    "mug",
    "notebook",
    "pen",
    "shelf",
    "rug",
    "vase",
    "clock",
    "towel",
    "pillow",
    "blanket",
    "bottle",
    "plate",
    "bowl",
    "knife",
    "spoon",
    "fork",
    "candle",
    "frame",
    "mirror",
    "basket",
    "jar",
    "tray",
    "stool",
    "bench",
    "sofa",
]
BYTES_PER_ROW = 4096  # product or order, with items, audit entry and indexes: a generous estimate


def _sizes(divisor: int = 1) -> dict[str, int]:
    env = os.environ
    orgs = max(4, int(env.get("SCALE_ORGS", "10000")) // divisor)
    big_orgs = min(int(env.get("SCALE_BIG_ORGS", "3")), orgs - 1)
    return {
        "orgs": orgs,
        "big_orgs": big_orgs,
        "big_size": max(10, int(env.get("SCALE_BIG_SIZE", "100000")) // divisor),
        "products": max(100, int(env.get("SCALE_PRODUCTS", "1000000")) // divisor),
        "orders": max(100, int(env.get("SCALE_ORDERS", "1000000")) // divisor),
    }


# --- generation (runs inside the measured database's process) --------------------------------


def _copy(cursor: Any, model: Any, template_pk: Any, count: int, expressions: dict[str, str], params: dict) -> None:
    """``count`` copies of one row of ``model``: ``expressions`` (SQL over ``t`` the template and ``g``) per column."""
    columns = [f.column for f in model._meta.concrete_fields if not getattr(f, "generated", False)]
    select = ", ".join(expressions.get(column, f"t.{column}") for column in columns)
    table = model._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "  # noqa: S608 - model columns
        f"FROM {table} t, generate_series(1, %(count)s) AS g WHERE t.{model._meta.pk.column} = %(template)s",
        {**params, "count": count, "template": template_pk},
    )


# Row g's organization: the big ones first (big_size rows each), the rest spread over the others.
TENANT = (
    "(%(orgs)s::uuid[])[CASE WHEN g <= %(big_total)s THEN (g - 1) / %(big_size)s + 1 "
    "ELSE %(big_orgs)s + 1 + g %% (%(org_count)s - %(big_orgs)s) END]"
)


def generate(sizes: dict[str, int]) -> dict[str, Any]:
    """Fill an empty database; returns the ids the measurements use."""
    from django.db import connection, transaction

    from apps.accounts.models import User
    from apps.audit.models import AuditLog
    from apps.catalog.models import Product, ProductVariant
    from apps.orders import services as order_services
    from apps.orders.models import Order, OrderItem, OrderNumberSequence
    from apps.organizations.models import Organization
    from apps.organizations.services import membership_create

    everything = {"webhooks": True, "analytics": True, "graphql": True}
    unlimited = {"products": None, "members": None, "orders_per_month": None, "webhook_endpoints": None}
    template = Organization.objects.create(
        name="Scale 0", slug="scale-0", settings={"currency": "USD"}, features=everything, limits=unlimited
    )
    customer = User.objects.create_user("scale-customer-0@bench.olympus.local", None, full_name="Scale Customer")
    product = Product.objects.create(
        organization=template, name="espresso lamp", slug="scale-product", price_cents=1000, currency="USD",
        status=Product.Status.ACTIVE,
    )  # fmt: skip
    variant = ProductVariant.objects.create(
        organization=template, product=product, inventory_quantity=10_000_000, is_default=True
    )
    address = {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "US"}
    order = order_services.order_place(
        user=customer, organization=template, items=[{"product": product.pk, "quantity": 1}], shipping_address=address
    )
    item = order.items.all()[0]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _copy(cursor, Organization, template.pk, sizes["orgs"] - 1, {
            "id": "gen_random_uuid()", "name": "'Scale ' || g", "slug": "'scale-' || g",
        }, {})  # fmt: skip
        orgs = [
            template.pk,
            *Organization.objects.exclude(pk=template.pk).order_by("slug").values_list("pk", flat=True),
        ]
        customers = 50
        _copy(cursor, User, customer.pk, customers - 1, {
            "id": "gen_random_uuid()", "email": "'scale-customer-' || g || '@bench.olympus.local'",
        }, {})  # fmt: skip
        users = list(User.objects.filter(email__startswith="scale-customer-").values_list("pk", flat=True))
        tenant = {
            "orgs": orgs, "big_orgs": sizes["big_orgs"], "big_size": sizes["big_size"],
            "big_total": sizes["big_orgs"] * sizes["big_size"], "org_count": len(orgs),
        }  # fmt: skip
        words = ", ".join(f"'{w}'" for w in WORDS)
        _copy(cursor, Product, product.pk, sizes["products"] - 1, {
            "id": "gen_random_uuid()", "organization_id": TENANT, "slug": "'p-' || g", "variant_skus": "'SKU-' || g",
            "name": f"(ARRAY[{words}])[1 + g %% {len(WORDS)}] || ' ' || (ARRAY[{words}])[1 + (g / 7) %% {len(WORDS)}] "
            "|| ' ' || g",
            "created_at": "now() - g * interval '1 second'", "updated_at": "now() - g * interval '1 second'",
            "deleted_at": "CASE WHEN g %% 7 = 0 THEN now() END",
        }, tenant)  # fmt: skip
        # Every copied product gets its one default variant (its SKU, plenty of stock), as the catalog has.
        cursor.execute(
            f"INSERT INTO {ProductVariant._meta.db_table} (id, created_at, updated_at, organization_id, "  # noqa: S608
            "product_id, sku, option_values, price_cents, compare_at_price_cents, track_inventory, "
            "inventory_quantity, allow_backorder, position, is_default, deleted_at) "
            "SELECT gen_random_uuid(), p.created_at, p.updated_at, p.organization_id, p.id, p.variant_skus, '{}', "
            "NULL, NULL, TRUE, 10000000, FALSE, 0, TRUE, p.deleted_at "
            f"FROM {Product._meta.db_table} p WHERE p.id <> %s",
            [product.pk],
        )
        _copy(cursor, Order, order.pk, sizes["orders"] - 1, {
            "id": "gen_random_uuid()", "organization_id": TENANT, "user_id": "(%(users)s::uuid[])[1 + g %% 50]",
            "order_number": "1001 + g", "created_at": "now() - g * interval '2 seconds'",
            "status": "(ARRAY['pending','confirmed','processing','shipped','delivered','cancelled'])[1 + g %% 6]",
        }, {**tenant, "users": users})  # fmt: skip
        cursor.execute(
            f"INSERT INTO {OrderItem._meta.db_table} (id, created_at, updated_at, order_id, product_id, "  # noqa: S608
            "variant_id, position, product_snapshot, quantity, unit_price_cents, total_cents, fulfilled_quantity) "
            "SELECT gen_random_uuid(), o.created_at, o.created_at, o.id, %s, %s, 0, %s, 1, 1000, 1000, 0 "
            f"FROM {Order._meta.db_table} o WHERE o.id <> %s",
            [product.pk, variant.pk, json.dumps(item.product_snapshot), order.pk],
        )
        cursor.execute(
            f"INSERT INTO {AuditLog._meta.db_table} (id, created_at, organization_id, actor_id, user_agent, "  # noqa: S608
            "request_id, action, resource_type, resource_id) "
            "SELECT gen_random_uuid(), created_at, organization_id, user_id, '', '', 'order.created', 'order', "
            "id::text "
            f"FROM {Order._meta.db_table} UNION ALL "
            "SELECT gen_random_uuid(), created_at, organization_id, NULL, '', '', 'product.created', 'product', "
            "id::text "
            f"FROM {Product._meta.db_table}"
        )
        cursor.execute(
            f"INSERT INTO {OrderNumberSequence._meta.db_table} (organization_id, last_number, usage_orders) "  # noqa: S608
            f"SELECT organization_id, max(order_number), 0 FROM {Order._meta.db_table} GROUP BY organization_id "
            "ON CONFLICT (organization_id) DO UPDATE SET last_number = EXCLUDED.last_number"
        )
    member = User.objects.create_user("scale-member@bench.olympus.local", None, full_name="Scale Member")
    membership_create(organization=Organization.objects.get(pk=orgs[0]), user=member, role="owner")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "generation_seconds": round(time.perf_counter() - started, 1),
        "big": str(orgs[0]),
        "product": str(product.pk),
    }


# --- measurement ----------------------------------------------------------------------------------


def _rate(call: Any, *, seconds: float, before: Any = None) -> float:
    """Calls per second of ``call`` over about ``seconds`` (``before`` runs untimed before each call)."""
    spent, calls = 0.0, 0
    while spent < seconds or calls < 5:
        if before:
            before()
        began = time.perf_counter()
        call()
        spent += time.perf_counter() - began
        calls += 1
    return round(calls / spent, 1)


def requests_to_measure() -> dict[str, tuple[Any, Any]]:
    """Each measured request: its call, and what runs untimed before each call (None: empty the cache)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import User
    from apps.accounts.services import ClientInfo, session_start

    with connection.cursor() as cursor:
        cursor.execute("SELECT big, product FROM bench_scale_marker")
        big, product = (str(v) for v in cursor.fetchone())
    member = User.objects.get(email="scale-member@bench.olympus.local")
    customer = User.objects.get(email="scale-customer-0@bench.olympus.local")
    bearer = {
        "HTTP_AUTHORIZATION": "Bearer "
        + session_start(user=member, client=ClientInfo(ip="127.0.0.1", user_agent="scale bench")).access
    }
    buyer = {
        "HTTP_AUTHORIZATION": "Bearer "
        + session_start(user=customer, client=ClientInfo(ip="127.0.0.1", user_agent="scale bench")).access
    }
    client = Client(HTTP_HOST="localhost")
    staff = User.objects.filter(email="scale-staff@bench.olympus.local").first() or User.objects.create_superuser(
        "scale-staff@bench.olympus.local", "x-unused-password-x"
    )
    admin_client = Client(HTTP_HOST="localhost")
    admin_client.force_login(staff)
    order_body = json.dumps({
        "organization": big, "items": [{"product": product, "quantity": 1}],
        "shipping_address": {"name": "A", "line1": "1 Road", "city": "Town", "postal_code": "1", "country": "US"},
    })  # fmt: skip
    graphql = json.dumps({
        "query": "query($id: UUID) { organization(id: $id) { products(first: 25) { edges { node { id name } } } "
        "orders(first: 25) { edges { node { id orderNumber items { id quantity } } } } } }",
        "variables": {"id": big},
    })  # fmt: skip

    def get(c: Client, url: str, **headers: str) -> Any:
        def call() -> None:
            response = c.get(url, **headers)  # type: ignore[arg-type]
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")

        return call

    def post(c: Client, url: str, body: str, status: int, **headers: str) -> Any:
        def call() -> None:
            response = c.post(url, body, content_type="application/json", **headers)  # type: ignore[arg-type]
            if response.status_code != status or (url == "/graphql" and "errors" in response.json()):
                raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")

        return call

    requests = {
        "product_list_anonymous": (get(client, f"/api/v1/products/?organization={big}&page_size=100"), cache.clear),
        "product_list_member": (get(client, f"/api/v1/products/?organization={big}&page_size=100", **bearer), None),
        "product_search": (get(client, f"/api/v1/products/?organization={big}&search=espresso", **bearer), None),
        "order_list_member": (get(client, "/api/v1/orders/?page_size=25", **bearer), None),
        "order_placement": (post(client, "/api/v1/orders/", order_body, 201, **buyer), None),
        "admin_orders": (get(admin_client, "/admin/orders/order/"), None),
        "admin_products": (get(admin_client, "/admin/catalog/product/"), None),
        "admin_audit_log": (get(admin_client, "/admin/audit/auditlog/"), None),
        "graphql_nested_lists": (post(client, "/graphql", graphql, 200, **bearer), None),
    }
    for call, _before in requests.values():
        call()  # warm: imports, connection, caches of the code (not of the page)
    return {name: (call, before or cache.clear) for name, (call, before) in requests.items()}


def maintenance_times() -> dict[str, float]:
    """The analytics refresh and the audit partition maintenance, each timed once."""
    from apps.analytics import services as analytics_services
    from apps.audit import services as audit_services

    figures = {}
    began = time.perf_counter()
    analytics_services.analytics_refresh()
    figures["analytics_refresh_s"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    audit_services.audit_partitions_maintain()
    figures["partition_maintenance_s"] = round(time.perf_counter() - began, 2)
    return figures


# --- the two databases ----------------------------------------------------------------------


def _database_url(name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))


# A line of the child's protocol on its stdout (anything else there, e.g. a log line, is skipped).
MARK = "@@scale "


class Child:
    """One database's process: it migrates and generates, warms up, then measures what it is asked to."""

    def __init__(self, name: str, sizes: dict[str, int], seconds: float) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(name),
            "DJANGO_SETTINGS_MODULE": "tools.bench.settings",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "API_THROTTLE_ANON": "100000000/min",
            "API_THROTTLE_USER": "100000000/min",
        }
        command = [sys.executable, "-m", "tools.bench.scale", "--child", json.dumps(sizes), str(seconds)]
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            command, cwd=BASE_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.ready = self._read()  # after migration, generation when needed, and the warm-up

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None  # noqa: S101 - opened above
        for line in self.process.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
        raise RuntimeError(f"the scale child ended (exit {self.process.wait()})")

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None  # noqa: S101 - opened above
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def child(sizes: dict[str, int], seconds: float) -> None:
    """In the database named by DATABASE_URL: migrate, generate unless already there with these sizes, then
    answer the parent's commands (one JSON line each) until its stdin closes."""
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_scale_marker (sizes jsonb, big uuid, product uuid, seconds float)"
        )
        cursor.execute("SELECT sizes, seconds FROM bench_scale_marker")
        row = cursor.fetchone()
    generated: dict[str, Any] = {}
    if row is None or json.loads(row[0]) != sizes:
        if row is not None:
            raise SystemExit("This database holds other sizes: `rm -rf .data/scale` and run again.")
        made = generate(sizes)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_scale_marker VALUES (%s, %s, %s, %s)",
                [json.dumps(sizes), made["big"], made["product"], made["generation_seconds"]],
            )
        generated = {"generated_now": True, "generation_seconds": made["generation_seconds"]}
    else:
        generated = {"generated_now": False, "generation_seconds": row[1]}
    requests = requests_to_measure()
    print(MARK + json.dumps({**generated, "requests": list(requests)}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "rate":
            call, before = requests[command["name"]]
            answer: dict[str, Any] = {"per_s": _rate(call, seconds=seconds, before=before)}
        else:
            answer = maintenance_times()
        print(MARK + json.dumps(answer), flush=True)


def measure_interleaved(small: Child, large: Child, rounds: int) -> dict[str, dict[str, Any]]:
    """Each request on both databases in turn, ``rounds`` times (which goes first alternates), so a drift
    in the machine's speed weighs on both sizes alike: the median per-second figures and the median of
    the rounds' ratios large/small."""
    figures: dict[str, dict[str, Any]] = {}
    for name in small.ready["requests"]:
        pairs = []
        for index in range(rounds):
            order = (small, large) if index % 2 == 0 else (large, small)
            rates = {id(c): c.ask(do="rate", name=name)["per_s"] for c in order}
            pairs.append((rates[id(small)], rates[id(large)]))
        ratios = sorted(round(b / a, 2) if a else 0.0 for a, b in pairs)
        figures[name] = {
            "small": statistics.median(a for a, _ in pairs),
            "large": statistics.median(b for _, b in pairs),
            "ratio": statistics.median(ratios),
            "ratios": ratios,
        }
        print(f"{name}: {figures[name]}", flush=True)
    return figures


def _create_databases(names: list[str]) -> None:
    import psycopg

    with psycopg.connect(_database_url("postgres"), autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
        for name in names:
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(json.loads(sys.argv[2]), float(sys.argv[3]))
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tools.bench.settings")
    from olympus import embedded
    from olympus.bootstrap import ensure_services

    ensure_services()
    large, small = _sizes(), _sizes(int(os.environ.get("SCALE_SMALL_DIVISOR", "500")))
    needed = (large["products"] + large["orders"]) * BYTES_PER_ROW
    free = shutil.disk_usage(embedded.data_dir()).free
    print(f"sizes: large {large}, small {small}; disk free {free / 1e9:.1f} GB, estimate {needed / 1e9:.1f} GB")
    if needed > free * 0.8:
        raise SystemExit("Not enough disk for these sizes: lower SCALE_PRODUCTS / SCALE_ORDERS.")
    seconds = float(os.environ.get("SCALE_BENCH_SECONDS", "2"))
    rounds = int(os.environ.get("SCALE_BENCH_ROUNDS", "3"))
    _create_databases(["olympus_scale_small", "olympus_scale_large"])
    children: dict[str, Child] = {}
    try:
        for name, sizes in (("small", small), ("large", large)):
            began = time.perf_counter()
            children[name] = Child(f"olympus_scale_{name}", sizes, seconds)
            print(f"{name}: ready in {time.perf_counter() - began:.0f} s: {children[name].ready}", flush=True)
        figures = measure_interleaved(children["small"], children["large"], rounds)
        maintenance = {name: c.ask(do="maintenance") for name, c in children.items()}
    finally:
        for c in children.values():
            c.close()
    report(figures, maintenance, large, children["large"].ready, rounds=rounds)


def report(
    figures: dict[str, dict[str, Any]],
    maintenance: dict[str, dict[str, float]],
    sizes: dict[str, int],
    generation: dict[str, Any],
    *,
    rounds: int,
) -> None:
    from django.conf import settings

    print(
        f"\n| request | small (per s) | large (per s) | large/small, median of {rounds} rounds (target >= 0.8) "
        "| rounds |\n|---|---|---|---|---|"
    )
    for name, figure in figures.items():
        ratio = figure["ratio"]
        below = "" if ratio >= 0.8 else "  (below target)"
        rounds_text = ", ".join(str(r) for r in figure["ratios"])
        print(f"| {name} | {figure['small']} | {figure['large']} | {ratio}{below} | {rounds_text} |")
    ratios = [figure["ratio"] for figure in figures.values()]
    print(
        f"\nlowest ratio {min(ratios)}, median {statistics.median(ratios)}; large data: {sizes}; "
        f"generation {generation['generation_seconds']} s"
    )
    interval = settings.ANALYTICS_REFRESH_SECONDS
    large, small = maintenance["large"], maintenance["small"]
    print(f"analytics refresh: {large['analytics_refresh_s']} s large, {small['analytics_refresh_s']} s small "
          f"(schedule every {interval} s)")  # fmt: skip
    print(f"partition maintenance: {large['partition_maintenance_s']} s large (daily)")


if __name__ == "__main__":
    main()
