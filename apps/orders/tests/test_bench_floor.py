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


def test_the_http_placer_keeps_its_connection_alive_and_replaces_an_idle_one(monkeypatch):
    """Within a window requests share a kept-alive connection; one idle past the limit is replaced first.

    Between windows the server (granian) may close an idle connection: reusing it would count as an error.
    """
    import http.server
    import threading

    connections = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the shipped server

        def setup(self):
            super().setup()
            connections.append(self.client_address)

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = {"organization": "o", "variants": ["v"], "lines": 1, "token": "t"}
        place = orders_run.http_placer(spec, server.server_address[1])
        rng = random.Random(0)  # noqa: S311 - which variant, not crypto
        for _ in range(3):
            place(rng)
        assert len(connections) == 1  # one connection for back-to-back requests
        monkeypatch.setattr(orders_run, "IDLE_RECONNECT_S", 0.0)
        place(rng)
        assert len(connections) == 2  # idle past the limit: a new connection, not a broken pipe
    finally:
        server.shutdown()
        server.server_close()
