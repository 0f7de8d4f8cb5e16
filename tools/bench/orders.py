"""Order placement throughput on one hot product and on many products, three ways, in the same run:

(a) HTTP end to end: ``POST /api/v1/orders/`` to the server Olympus ships (granian with its default 2 workers,
    free loopback port), over kept-alive connections;
(b) the placement service (``services.order_place``) called in-process;
(c) the floor: one raw psycopg transaction per order with only the minimal writes (conditional stock
    update per line, order-number counter, order row, item rows, outbox row; ``orders_run.py``), over
    the protocol settings Django uses (client-side binding, no prepared statements); ``c_sql_prepared``
    is the same floor with psycopg's defaults (server-side binding, prepared statements), for reference.

Every mode runs ``PROCESSES`` load processes × ``THREADS`` threads (4 placements in flight). The modes
take turns after a common warm-up: ``ORDERS_BENCH_ROUNDS`` (default 5) rounds of a, b, c, c_prepared,
``ORDERS_BENCH_SECONDS`` (default 2) each, so a drift in the speed of the shared machine weighs on every
mode alike. The figures are each mode's median round in placed orders per second, the ratios b/c and
a/c as the median of the rounds' ratios (the modes of one round ran back to back; b/c of every round is
listed too), and the oversell count (must be 0): units sold beyond the stock a product had,
plus products whose stock does not match what their order items took. ``oversell_probe`` sells a product
with 25 in stock through each mode until it runs out: exactly 25 orders each time.

Committed data: the server and load processes must see the rows, so these benchmarks are marked
``commits = True`` and do all of their database work in a thread with its own connection (the harness's
rolled-back transaction stays idle). Each creates the organization ``bench-orders`` with a customer and
products, and deletes everything it made (orders, items, outbox events, audit entries, counter, products,
organization, user) when it ends. Its load processes publish Celery relays to Redis db ``BROKER_DB``
(13), which is emptied afterwards: nothing reaches the development worker's queues.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Sum

from tools.bench.runner import BENCH_SETTINGS
from tools.bench.runner import serve as bench_serve

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SLUG = "bench-orders"
EMAIL = "bench-orders-customer@bench.olympus.local"
SECONDS = float(os.environ.get("ORDERS_BENCH_SECONDS", "2"))  # one round of one mode
ROUNDS = int(os.environ.get("ORDERS_BENCH_ROUNDS", "5"))
PROCESSES = 4
THREADS = 1
WORKERS = 2  # the shipped default (WEB_WORKERS), each with WEB_THREADS threads
BROKER_DB = 13
HOT_STOCK = 10_000_000
PROBE_STOCK = 25
# The figures' names and the load modes they measure, in the order the rounds take them.
MODES = {"a_http": "http", "b_service": "service", "c_sql": "sql", "c_sql_prepared": "sql_prepared"}
T = TypeVar("T")


# --- helpers --------------------------------------------------------------------------------


def committed(function: Callable[[], T]) -> T:
    """Run ``function`` in a thread of its own: its own connection, autocommit, outside the harness's transaction."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed back to the caller
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",  # no access-log line per order
        "REDIS_BROKER_DB": str(BROKER_DB),
        "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS,
    }


def serve() -> contextlib.AbstractContextManager[int]:
    """The harness's server (granian as shipped: tools.bench.runner.serve) with this bench's settings."""
    return bench_serve(workers=WORKERS, extra_env=_env())


def _spawn(mode: str, spec_path: str, windows: str, *, port: int | None, warmup: int) -> list:
    command = [sys.executable, "-m", "tools.bench.orders_run", "--mode", mode, "--spec", spec_path]
    command += ["--windows", windows, "--threads", str(THREADS), "--warmup", str(warmup)]
    command += ["--port", str(port)] if port else []
    return [
        subprocess.Popen(command, cwd=BASE_DIR, env=_env(), stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(PROCESSES)
    ]


def _when_ready(path: Path, processes: list, timeout: float = 600.0) -> None:
    """Wait until every load process has set Django up and warmed up (each creates ``path.ready.<pid>``)."""
    deadline = time.monotonic() + timeout
    while len(list(path.parent.glob(f"{path.name}.ready.*"))) < len(processes):
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("A load process ended before it was ready: " + str([p.args for p in processes][:1]))
        if time.monotonic() > deadline:
            raise RuntimeError(f"Load processes not ready after {timeout:.0f} s.")
        time.sleep(0.05)


def _collect(processes: list, timeout: float) -> list[dict]:
    return [json.loads(process.communicate(timeout=timeout)[0]) for process in processes]


def _window_sum(results: list[dict], index: int) -> dict[str, Any]:
    """One window of ``PROCESSES`` load processes of one mode, added up."""
    windows = [r["windows"][index] for r in results]
    return {
        "ok": sum(w["ok"] for w in windows),
        "conflicts": sum(w["conflicts"] for w in windows),
        "errors": sum(w["errors"] for w in windows),
        "per_second": round(sum(w["ok"] for w in windows) / windows[0]["elapsed"], 1),
        "p50_ms": max(w["p50_ms"] for w in windows),
    }


def load(mode: str, spec: dict[str, Any], *, seconds: float, port: int | None = None, warmup: int = 3) -> dict:
    """Run ``PROCESSES`` load processes of ``mode`` in one aligned window; sum their figures."""
    return load_rounds([mode], spec, rounds=1, seconds=seconds, port=port, warmup=warmup)[mode]


def load_rounds(
    modes: list[str],
    spec: dict[str, Any],
    *,
    rounds: int,
    seconds: float,
    port: int | None = None,
    warmup: int = 3,
) -> dict[str, dict[str, Any]]:
    """Every mode's ``PROCESSES`` load processes, taking turns: ``rounds`` windows of ``seconds`` each.

    All processes start (and warm up) together, then the modes run one after the
    other, round after round (a, b, c, a, b, c, ...), so a drift in the speed of
    the shared machine weighs on every mode alike. Per mode: the median round's
    orders per second, each round's figure, and the totals.
    """
    with tempfile.TemporaryDirectory() as folder:
        spec_path, windows_path = Path(folder) / "spec.json", Path(folder) / "windows.json"
        spec_path.write_text(json.dumps(spec))
        running = {mode: _spawn(mode, str(spec_path), f"@{windows_path}", port=port, warmup=warmup) for mode in modes}
        # The windows start when every process of every mode is warm: none is still importing Django
        # (on a slow machine that took longer than any fixed allowance) while another mode is measured.
        _when_ready(windows_path, [process for processes in running.values() for process in processes])
        start = time.time() + 0.5
        schedule: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
        for _ in range(rounds):
            for mode in modes:
                schedule[mode].append((start, start + seconds))
                start += seconds + 0.25  # a short gap: one mode's last orders never overlap the next one's
        # One file for every process: a process reads the windows of its own mode.
        written = Path(folder) / "windows.tmp"
        written.write_text(json.dumps({**schedule, "end": start}))
        written.rename(windows_path)
        outcomes = {mode: _collect(processes, timeout=start - time.time() + 120) for mode, processes in running.items()}
    figures = {}
    for mode, results in outcomes.items():
        per_round = [_window_sum(results, index) for index in range(rounds)]
        rates = sorted(r["per_second"] for r in per_round)
        figures[mode] = {
            "per_second": rates[len(rates) // 2],
            "rounds": [r["per_second"] for r in per_round],
            "ok": sum(r["ok"] for r in per_round),
            "conflicts": sum(r["conflicts"] for r in per_round),
            "errors": sum(r["errors"] for r in per_round),
            "p50_ms": sorted(r["p50_ms"] for r in per_round)[len(per_round) // 2],
            "late": any(r["late"] for r in results),
            "first_error": next((r["first_error"] for r in results if r["first_error"]), ""),
        }
    return figures


# --- the bench organization -------------------------------------------------------------------


def _cleanup() -> None:
    from apps.accounts.models import User
    from apps.audit.models import AuditLog
    from apps.core.models import OutboxEvent
    from apps.orders.models import Order, OrderItem
    from apps.organizations.models import Organization

    for organization in Organization.objects.filter(slug=SLUG):
        OrderItem.objects.filter(order__organization=organization).delete()
        Order.objects.filter(organization=organization).delete()
        OutboxEvent.objects.filter(organization_id=organization.pk).delete()
        AuditLog.objects.filter(organization_id=organization.pk).delete()
        organization.delete()
    User.objects.filter(email=EMAIL).delete()


def _setup(*, products: int, stock: int, lines: int) -> dict[str, Any]:
    from apps.accounts.models import User
    from apps.accounts.services import ClientInfo, session_start
    from apps.catalog.models import Product, ProductVariant
    from apps.organizations.models import Organization

    _cleanup()  # leftovers of an interrupted run
    organization = Organization.objects.create(
        name="Bench Orders",
        slug=SLUG,
        settings={"currency": "USD", "tax_rate_bps": 825, "flat_shipping_cents": 500},
        limits={"orders_per_month": None},  # unlimited: the plan limit is checked, never reached
    )
    user = User.objects.create_user(EMAIL, None, full_name="Bench Customer")
    rows = Product.objects.bulk_create(
        Product(
            organization=organization,
            name=f"Bench product {n}",
            slug=f"bench-order-{n}",
            price_cents=500 + n,
            currency="USD",
            variant_skus=f"BO-{n:05d}",
            status=Product.Status.ACTIVE,
        )
        for n in range(products)
    )
    # Each product's one (default) variant carries its SKU and stock; orders name the variants.
    variants = ProductVariant.objects.bulk_create(
        ProductVariant(
            organization=organization,
            product=product,
            sku=f"BO-{n:05d}",
            inventory_quantity=stock,
            is_default=True,
        )
        for n, product in enumerate(rows)
    )
    return {
        "organization": str(organization.pk),
        "user": str(user.pk),
        "email": user.email,
        # Access tokens belong to a server-side session (deleted with the user).
        "token": session_start(user=user, client=ClientInfo(ip="127.0.0.1", user_agent="orders bench")).access,
        "variants": sorted(str(v.pk) for v in variants),
        "lines": lines,
        "stock": stock,
        "tax_rate_bps": organization.settings["tax_rate_bps"],
        "shipping_cents": organization.settings["flat_shipping_cents"],
    }


def _stock_check(spec: dict[str, Any]) -> dict[str, int]:
    """Units sold beyond the stock each variant had, and variants whose stock disagrees with their items."""
    from apps.catalog.models import ProductVariant
    from apps.orders.models import OrderItem

    sold = dict(
        OrderItem.objects.filter(variant_id__in=spec["variants"])
        .values("variant_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant_id", "units")
    )
    current = dict(ProductVariant.objects.filter(pk__in=spec["variants"]).values_list("pk", "inventory_quantity"))
    oversold = sum(max(0, sold.get(pk, 0) - spec["stock"]) for pk in current)
    mismatched = sum(1 for pk, quantity in current.items() if spec["stock"] - quantity != sold.get(pk, 0))
    return {"oversell": oversold, "stock_mismatch": mismatched, "sold": sum(sold.values())}


def _flush_broker() -> None:
    """Empty the bench's broker database: the relays its processes queued go nowhere."""
    import redis

    from olympus.service_urls import redis_url

    redis.Redis.from_url(redis_url(settings.REDIS_URL, BROKER_DB)).flushdb()


# --- benchmarks -------------------------------------------------------------------------------------


def _placement(*, products: int, lines: int) -> dict[str, Any]:
    spec = committed(lambda: _setup(products=products, stock=HOT_STOCK, lines=lines))
    try:
        with serve() as port:
            load("http", spec, seconds=1, port=port)  # warm every server worker up
            by_mode = load_rounds(list(MODES.values()), spec, rounds=ROUNDS, seconds=SECONDS, port=port)
        check = committed(lambda: _stock_check(spec))
    finally:
        committed(_cleanup)
        _flush_broker()
    phases = {name: by_mode[mode] for name, mode in MODES.items()}
    http, service, sql, prepared = (phases[name] for name in ("a_http", "b_service", "c_sql", "c_sql_prepared"))
    return {
        **{f"{name}_orders_per_s": phase["per_second"] for name, phase in phases.items()},
        # Each round's modes ran back to back: the ratio of one round compares like with like.
        "b_over_c": _median_ratio(service, sql),
        "a_over_c": _median_ratio(http, sql),
        "b_over_c_prepared": _median_ratio(service, prepared),
        "b_over_c_rounds": _ratios(service, sql),
        **{f"{name}_p50_ms": phase["p50_ms"] for name, phase in phases.items()},
        "errors": sum(phase["errors"] for phase in phases.values()),
        **(
            {"first_error": e}
            if (e := next((p["first_error"] for p in phases.values() if p["first_error"]), ""))
            else {}
        ),
        "late_start": any(phase["late"] for phase in phases.values()),
        "oversell": check["oversell"],
        "stock_mismatch": check["stock_mismatch"],
    }


def _ratios(numerator: dict[str, Any], denominator: dict[str, Any]) -> list[float]:
    return [round(n / d, 2) if d else 0.0 for n, d in zip(numerator["rounds"], denominator["rounds"], strict=True)]


def _median_ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> float:
    ratios = sorted(_ratios(numerator, denominator))
    return ratios[len(ratios) // 2]


def placement_hot_product() -> dict[str, Any]:
    """Every order buys 1 of the same product: all placements queue on its row lock."""
    return _placement(products=1, lines=1)


def placement_many_products() -> dict[str, Any]:
    """Every order buys 3 random products out of 500."""
    return _placement(products=500, lines=3)


def oversell_probe() -> dict[str, Any]:
    """A product with 25 in stock sold through each mode until it runs out: exactly 25 orders each, none beyond."""
    figures: dict[str, Any] = {}
    spec = committed(lambda: _setup(products=1, stock=PROBE_STOCK, lines=1))
    try:
        with serve() as port:
            runs = {"a_http": lambda: load("http", spec, seconds=2, port=port, warmup=0)}
            runs["b_service"] = lambda: load("service", spec, seconds=2, warmup=0)
            runs["c_sql"] = lambda: load("sql", spec, seconds=2, warmup=0)
            for name, run in runs.items():
                committed(lambda: _restock(spec))
                result = run()
                figures[f"{name}_orders"] = result["ok"]
                figures[f"{name}_refused"] = result["conflicts"]
                figures[f"{name}_errors"] = result["errors"]
                sold = result["ok"]
                figures[f"{name}_oversell"] = max(0, sold - PROBE_STOCK) + committed(
                    functools.partial(_left_over_mismatch, spec, sold)
                )
    finally:
        committed(_cleanup)
        _flush_broker()
    figures["oversell"] = sum(v for k, v in figures.items() if k.endswith("_oversell"))
    return figures


def _restock(spec: dict[str, Any]) -> None:
    from apps.catalog.models import ProductVariant

    ProductVariant.objects.filter(pk__in=spec["variants"]).update(inventory_quantity=PROBE_STOCK)


def _left_over_mismatch(spec: dict[str, Any], sold: int) -> int:
    """0 when the stock left is exactly what the round did not sell (and not negative); else how far off."""
    from apps.catalog.models import ProductVariant

    left = ProductVariant.objects.get(pk=spec["variants"][0]).inventory_quantity
    return abs((PROBE_STOCK - sold) - left) + max(0, -left)


placement_hot_product.commits = True  # type: ignore[attr-defined]
placement_many_products.commits = True  # type: ignore[attr-defined]
oversell_probe.commits = True  # type: ignore[attr-defined]

BENCHMARKS = [placement_hot_product, placement_many_products, oversell_probe]
