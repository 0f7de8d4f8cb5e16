"""One load process of the order-placement benchmark (``tools/bench/orders.py`` starts it).

    python -m tools.bench.orders_run --mode http|service|sql --spec SPEC.json --windows '[[t0, t1], ...]' \
        --threads 2 [--port N]

Each of ``--threads`` threads places orders back to back during each time
window and sleeps between them (bounded in time; HTTP goes to 127.0.0.1 only);
the process prints one JSON line with, per window, placed orders, refusals for
stock (409), errors, the window's length and the median latency. The spec names the organization,
the customer (and a JWT for HTTP), the products and how many lines an order
has.

- ``http``: ``POST /api/v1/orders/`` to a running server (no Django here).
- ``service``: ``apps.orders.services.order_place`` in this process.
- ``sql``: the floor, one raw psycopg transaction per order doing only the
  minimal writes: a conditional stock update per line, the order-number
  counter, the order row, its item rows and an outbox row; over the same
  protocol settings as Django's connections (client-side parameter binding,
  no prepared statements).
- ``sql_prepared``: the same with psycopg's defaults (server-side binding,
  statements prepared after five uses), for reference.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ADDRESS = {"name": "Bench Buyer", "line1": "1 Loop Road", "city": "Localhost", "postal_code": "12700", "country": "US"}


class OutOfStock(Exception):
    pass


def order_lines(spec: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    variants = spec["variants"]
    chosen = variants if len(variants) <= spec["lines"] else rng.sample(variants, spec["lines"])
    return [{"variant": variant, "quantity": 1} for variant in chosen]


# --- the three ways of placing an order ----------------------------------------------------


# A keep-alive connection idle longer than this is replaced before the next request (granian closes idle ones).
IDLE_RECONNECT_S = 1.0


def http_placer(spec: dict[str, Any], port: int) -> Callable[[random.Random], None]:
    local = threading.local()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {spec['token']}",
        "Host": "localhost",
    }

    def place(rng: random.Random) -> None:
        # Kept alive within a window; a connection left idle between windows (other modes' turns) may have
        # been closed by the server's idle timeout, so it is replaced, as a client pool expires idle ones.
        if hasattr(local, "conn") and time.monotonic() - local.used > IDLE_RECONNECT_S:
            local.conn.close()
            del local.conn
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local.used = time.monotonic()
        body = {"organization": spec["organization"], "items": order_lines(spec, rng), "shipping_address": ADDRESS}
        try:
            local.conn.request("POST", "/api/v1/orders/", body=json.dumps(body), headers=headers)
            response = local.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            local.conn.close()
            del local.conn
            raise
        if response.status == 409:
            raise OutOfStock
        if response.status != 201:
            raise RuntimeError(f"HTTP {response.status}")

    return place


def _django() -> None:
    import os

    import django

    from olympus.bootstrap import ensure_services

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
    ensure_services()  # started by tools/bench/orders.py, which passes the URLs on: then a no-op
    django.setup()


def service_placer(spec: dict[str, Any]) -> Callable[[random.Random], None]:
    _django()
    from apps.accounts.models import User
    from apps.catalog.errors import InsufficientStock
    from apps.orders import services
    from apps.organizations.models import Organization

    organization = Organization.objects.get(pk=spec["organization"])
    user = User.objects.get(pk=spec["user"])

    def place(rng: random.Random) -> None:
        try:
            services.order_place(
                user=user, organization=organization, items=order_lines(spec, rng), shipping_address=ADDRESS
            )
        except InsufficientStock as exc:
            raise OutOfStock from exc

    return place


# Stock is the variant's; price, currency and name come with it from its product (placement reads them
# in one joined query before the updates; the floor folds the read into each update).
SQL_STOCK = (
    "UPDATE catalog_productvariant v SET inventory_quantity = v.inventory_quantity - %s FROM catalog_product p "
    "WHERE v.id = %s AND p.id = v.product_id AND v.inventory_quantity >= %s "
    "RETURNING COALESCE(v.price_cents, p.price_cents), p.currency, p.name, v.sku, v.product_id, v.option_values"
)
# The number and the month's usage count in one statement, as placement takes them (issue 21).
SQL_NUMBER = (
    "INSERT INTO orders_ordernumbersequence (organization_id, last_number, usage_period_start, usage_orders) "
    "VALUES (%s, 1001, date_trunc('month', now()), 1) "
    "ON CONFLICT (organization_id) DO UPDATE SET last_number = orders_ordernumbersequence.last_number + 1, "
    "usage_orders = CASE WHEN orders_ordernumbersequence.usage_period_start >= EXCLUDED.usage_period_start "
    "THEN orders_ordernumbersequence.usage_orders + 1 ELSE 1 END, "
    "usage_period_start = GREATEST(orders_ordernumbersequence.usage_period_start, EXCLUDED.usage_period_start) "
    "RETURNING last_number"
)
SQL_ORDER = (
    "INSERT INTO orders_order (id, created_at, updated_at, organization_id, user_id, customer_email, order_number, "
    "status, payment_status, fulfillment_status, subtotal_cents, discount_cents, tax_cents, shipping_cents, "
    "total_cents, currency, shipping_address, billing_address, customer_notes, internal_notes, metadata, "
    "stripe_payment_intent_id, carrier, tracking_number, cancel_reason, emails_sent) VALUES (%s, now(), now(), %s, "
    "%s, %s, %s, 'pending', 'pending', 'unfulfilled', %s, 0, %s, %s, %s, %s, %s, %s, '', '', '{}', '', '', '', '', "
    "'{}')"
)
SQL_ITEMS = (
    "INSERT INTO orders_orderitem (id, created_at, updated_at, order_id, product_id, variant_id, position, "
    "product_snapshot, quantity, unit_price_cents, total_cents, fulfilled_quantity) VALUES "
)
SQL_ITEM = "(%s, now(), now(), %s, %s, %s, %s, %s, %s, %s, %s, 0)"  # one row of the multi-row insert
SQL_OUTBOX = (
    "INSERT INTO core_outboxevent (id, created_at, updated_at, event_type, organization_id, payload, status, "
    "attempts, next_attempt_at, last_error, trace_context) "
    "VALUES (%s, now(), now(), 'order.created', %s, %s, 'pending', 0, now(), '', '{}')"
)


def sql_placer(spec: dict[str, Any], *, prepared: bool = False) -> Callable[[random.Random], None]:
    """``prepared=False``: the protocol Django is configured with (client-side parameter binding,
    no prepared statements); ``True``: psycopg's defaults (server-side binding, statements
    prepared after 5 uses)."""
    _django()
    import psycopg
    from django.db import connections
    from psycopg.types.json import Jsonb

    params = connections["default"].get_connection_params()
    conninfo = {k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"} and v}
    if not prepared:
        conninfo.update(cursor_factory=psycopg.ClientCursor, prepare_threshold=None)
    local = threading.local()

    def place(rng: random.Random) -> None:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(**conninfo, autocommit=True)
        lines = sorted(order_lines(spec, rng), key=lambda line: line["variant"])  # lock order: no deadlocks
        with local.conn.transaction(), local.conn.cursor() as cursor:
            rows = []
            for line in lines:
                cursor.execute(SQL_STOCK, [line["quantity"], line["variant"], line["quantity"]])
                found = cursor.fetchone()
                if found is None:
                    raise OutOfStock  # leaves the transaction block: rolled back
                rows.append((line, found))
            cursor.execute(SQL_NUMBER, [spec["organization"]])
            number = cursor.fetchone()[0]
            order_id = uuid.uuid4()
            subtotal = sum(price * line["quantity"] for line, (price, *_rest) in rows)
            tax = (2 * subtotal * spec["tax_rate_bps"] + 10_000) // 20_000  # half up, as the service does
            shipping = spec["shipping_cents"]
            cursor.execute(
                SQL_ORDER,
                [
                    order_id,
                    spec["organization"],
                    spec["user"],
                    spec["email"],
                    number,
                    subtotal,
                    tax,
                    shipping,
                    subtotal + tax + shipping,
                    rows[0][1][1],
                    Jsonb(ADDRESS),
                    Jsonb(ADDRESS),
                ],
            )
            values, arguments = [], []
            for position, (line, (price, currency, name, sku, product_id, options)) in enumerate(rows):
                values.append(SQL_ITEM)
                snapshot = {
                    "id": str(product_id),
                    "name": name,
                    "sku": sku,
                    "price_cents": price,
                    "currency": currency,
                    "variant_id": line["variant"],
                    "option_values": options,
                }
                arguments += [
                    uuid.uuid4(),
                    order_id,
                    product_id,
                    line["variant"],
                    position,
                    Jsonb(snapshot),
                    line["quantity"],
                    price,
                    price * line["quantity"],
                ]
            cursor.execute(SQL_ITEMS + ", ".join(values), arguments)
            cursor.execute(
                SQL_OUTBOX,
                [uuid.uuid4(), spec["organization"], Jsonb({"order_id": str(order_id), "order_number": number})],
            )

    return place


# --- the loop ------------------------------------------------------------------------------


def run(
    place: Callable[[random.Random], None],
    *,
    schedule: Callable[[], list[tuple[float, float]]],
    threads: int,
    warmup: int = 0,
) -> dict[str, Any]:
    """Place orders from ``threads`` threads during each window (``time.time()`` start and end).

    ``warmup`` uncounted orders per thread come first; then ``schedule()`` (called
    once, when every thread is warm) gives the windows. Between windows the threads
    sleep, so several processes of different modes can take turns on the machine.
    """
    first_error: list[str] = []
    ready: list[float] = []
    lock = threading.Lock()
    warm = threading.Barrier(threads)
    known = threading.Event()
    windows: list[tuple[float, float]] = []
    counts: list[dict[str, int]] = []
    latencies: list[list[float]] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - load shape, not crypto
        for _ in range(warmup):  # connections, imports, prepared caches: not measured
            try:
                place(rng)
            except Exception:  # noqa: S112 - warm-up outcomes do not count
                continue
        with lock:
            ready.append(time.time())
        if warm.wait() == 0:  # one thread asks for the windows once all are warm; the others wait for them
            try:
                windows.extend(schedule())
                counts.extend({"ok": 0, "conflicts": 0, "errors": 0} for _ in windows)
                latencies.extend([] for _ in windows)
            finally:
                known.set()  # without windows (schedule failed: its error ends this thread) the others end too
        known.wait()
        for index, (start, end) in enumerate(windows):
            local = {"ok": 0, "conflicts": 0, "errors": 0}
            mine: list[float] = []
            if (delay := start - time.time()) > 0:
                time.sleep(delay)
            while time.time() < end:
                began = time.perf_counter()
                try:
                    place(rng)
                except OutOfStock:
                    local["conflicts"] += 1
                except Exception as exc:
                    local["errors"] += 1
                    if not first_error:
                        first_error.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    local["ok"] += 1
                    mine.append(time.perf_counter() - began)
            with lock:
                for key, value in local.items():
                    counts[index][key] += value
                latencies[index].extend(mine)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    results = []
    for (start, end), window, spent in zip(windows, counts, latencies, strict=True):
        spent.sort()
        median = round(spent[len(spent) // 2] * 1000, 2) if spent else 0.0
        results.append({**window, "elapsed": round(end - start, 3), "p50_ms": median})
    return {
        "windows": results,
        "late": max(ready) > windows[0][0],
        "first_error": first_error[0] if first_error else "",
    }


def windows_from(argument: str, mode: str, *, timeout: float = 600.0) -> list[tuple[float, float]]:
    """The windows given inline, or (``@PATH``) announced ready and read once the caller writes them
    (``{mode: windows, "end": when the last one ends}``, one file for every load process)."""
    if argument.startswith("@"):
        path = Path(argument[1:])
        Path(f"{path}.ready.{os.getpid()}").touch()
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"No windows in {path} after {timeout:.0f} s.")
            time.sleep(0.02)
        argument = json.dumps(json.loads(path.read_text())[mode])
    return [(float(start), float(end)) for start, end in json.loads(argument)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("http", "service", "sql", "sql_prepared"), required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument(
        "--windows",
        required=True,
        help="JSON [[start, end], ...] in time.time() seconds: when to place orders; or @PATH: once warm, create "
        "PATH.ready.<pid> and wait for PATH to hold that JSON (the caller starts the windows when all are ready)",
    )
    args = parser.parse_args()
    with open(args.spec) as handle:
        spec = json.load(handle)
    if args.mode == "http":
        place = http_placer(spec, args.port)
    elif args.mode == "service":
        place = service_placer(spec)
    else:
        place = sql_placer(spec, prepared=args.mode == "sql_prepared")
    schedule = functools.partial(windows_from, args.windows, args.mode)
    result = run(place, schedule=schedule, threads=args.threads, warmup=args.warmup)
    if args.windows.startswith("@"):
        # Exit only when every mode's last window is over: a Django process's teardown takes CPU
        # from whichever mode is measured meanwhile.
        time.sleep(max(0.0, json.loads(Path(args.windows[1:]).read_text())["end"] - time.time()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
