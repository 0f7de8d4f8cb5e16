"""The orders bench's raw-SQL floor writes what placement writes (so that b/c compares like with like).

Not a benchmark: one order each way on the test database, and their rows compared.
"""

import random

import pytest

from apps.orders.models import Order
from tools.bench import orders, orders_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sql_floor_and_the_service_write_the_same_item_rows(monkeypatch):
    monkeypatch.setattr(orders_run, "_django", lambda: None)  # Django is already set up by the test run
    spec = orders._setup(products=3, stock=5, lines=2)
    try:
        orders_run.sql_placer(spec)(random.Random(7))  # noqa: S311 - which lines, not secrets
        orders_run.service_placer(spec)(random.Random(7))  # noqa: S311
        floor, service = (
            [
                (item.product_id, item.variant_id, item.quantity, item.unit_price_cents, item.product_snapshot)
                for item in order.items.order_by("variant_id")
            ]
            for order in Order.objects.filter(organization_id=spec["organization"]).order_by("order_number")
        )
        assert [row[:4] for row in floor] == [row[:4] for row in service]
        assert all(row[1] is not None for row in floor)
        for (*_, floor_snapshot), (*_, service_snapshot) in zip(floor, service, strict=True):
            # the floor leaves out what placement copies from the product beyond the line's needs
            assert floor_snapshot.items() <= service_snapshot.items()
            assert {"variant_id", "option_values", "sku", "price_cents"} <= floor_snapshot.keys()
        assert orders._stock_check(spec)["stock_mismatch"] == 0
    finally:
        orders._cleanup()


def test_load_windows_start_only_when_every_thread_is_warm(tmp_path):
    """The orders bench's handshake: windows are asked for once, after the warm-up, and read from a file."""
    import json
    import os
    import threading
    import time

    warmed, asked = [], []

    def place(rng):
        warmed.append(threading.get_ident())

    path = tmp_path / "windows.json"

    def schedule():
        asked.append(len(warmed))
        assert (tmp_path / f"windows.json.ready.{os.getpid()}").exists() is False  # not announced yet
        start = time.time()
        path.write_text(json.dumps({"sql": [[start, start + 0.05]]}))
        return orders_run.windows_from(f"@{path}", "sql")

    result = orders_run.run(place, schedule=schedule, threads=3, warmup=2)
    assert asked == [6]  # once, when all three threads had placed their two warm-up orders
    assert (tmp_path / f"windows.json.ready.{os.getpid()}").exists()
    assert len(result["windows"]) == 1
    assert result["windows"][0]["ok"] > 0
    assert result["late"] is False
