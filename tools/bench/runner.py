"""`make bench` (``python -m tools.bench [core catalog orders webhooks]``): run the benchmarks, print figures.

Each module in :data:`MODULES` (``tools/bench/<name>.py``) exposes ``BENCHMARKS``:
callables that take no argument and return a dict of named figures. Timing goals live here, never in the test suite.
Benchmarks run against the development database inside a transaction that is
rolled back, so they leave nothing behind; one marked ``commits = True`` (it
needs a server process to see its data) runs outside it and removes its own
data. :func:`serve` and :func:`load` give HTTP benchmarks a real gunicorn and
a load generator in another process (``tools.bench.loadgen``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]
# The benchmark modules, in the order they run.
MODULES = ("core", "catalog", "orders", "webhooks")
# Servers started by serve() mount the bench-only routes through these settings.
BENCH_SETTINGS = "tools.bench.settings"


class Rollback(Exception):
    pass


def timed(func: Callable[[], Any], *, repeat: int) -> dict[str, float]:
    """Run ``func`` ``repeat`` times; report per-call median, p95 and throughput."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    samples.sort()
    total = sum(samples)
    return {
        "calls": repeat,
        "median_ms": round(samples[len(samples) // 2] * 1000, 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1] * 1000, 3),
        "per_second": round(repeat / total, 1) if total else float("inf"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(*, workers: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[int]:
    """A gunicorn serving Olympus on a free loopback port (bench routes on); yields the port."""
    port = free_port()
    # Load generators are one client: the API throttles would measure themselves.
    env = {
        "LOG_LEVEL": "WARNING",  # no access-log line per request on the console (LOG_LEVEL in the environment wins)
        **os.environ,
        "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS,
        "DEBUG": "false",
        "API_THROTTLE_ANON": "100000000/min",
        "API_THROTTLE_USER": "100000000/min",
        **(extra_env or {}),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "olympus.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: S603
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/live", timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(port: int, path: str, *, seconds: float = 5.0, concurrency: int = 4) -> dict[str, float]:
    """Run the load generator in its own process against ``path``; return its figures."""
    command = [sys.executable, "-m", "tools.bench.loadgen", "--port", str(port), "--path", path]
    command += ["--seconds", str(seconds), "--concurrency", str(concurrency)]
    out = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(out.stdout)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
    from olympus.bootstrap import ensure_services

    ensure_services()  # the servers started below inherit the exported URLs
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", interactive=False, verbosity=0)
    selected = set(sys.argv[1:])
    unknown = selected - set(MODULES)
    if unknown:
        print(f"unknown benchmark module(s): {', '.join(sorted(unknown))}; choose from {', '.join(MODULES)}")
        return 2
    for name in MODULES:
        if selected and name not in selected:
            continue
        module = importlib.import_module(f"tools.bench.{name}")
        for bench in module.BENCHMARKS:
            print(f"{name}.{bench.__name__}: ", end="", flush=True)
            if getattr(bench, "commits", False):
                result = bench()
            else:
                try:
                    with transaction.atomic():
                        result = bench()
                        raise Rollback
                except Rollback:
                    pass
            print(", ".join(f"{key}={value}" for key, value in result.items()), flush=True)
    print("Scale (large vs small database, ratios): `make bench-scale` (tools/bench/scale.py, docs/benchmarks.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
