"""`make bench` (``python -m tools.bench [core catalog orders webhooks]``): run the benchmarks, print figures.

Each module in :data:`MODULES` (``tools/bench/<name>.py``) exposes ``BENCHMARKS``:
callables that take no argument and return a dict of named figures. Timing goals live here, never in the test suite.
Benchmarks run against the development database inside a transaction that is
rolled back, so they leave nothing behind; one marked ``commits = True`` (it
needs a server process to see its data) runs outside it and removes its own
data. :func:`serve` and :func:`load` give HTTP benchmarks the server Olympus ships (granian) and
a load generator in another process: ``wrk`` when it is installed, else
``tools.bench.loadgen`` (with a warning: it takes a large share of the CPU).
Each :func:`load` also reports the generator's CPU share of the machine, so a
saturated generator is not mistaken for a fast server.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
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
def serve(*, workers: int = 2, threads: int | None = None, extra_env: dict[str, str] | None = None) -> Iterator[int]:
    """The server Olympus ships (granian, ``olympus/webserver.py``) on a free loopback port (bench routes on).

    Yields the port. ``threads`` is granian's ``--blocking-threads`` per worker (``WEB_THREADS`` by default).
    """
    from olympus import webserver

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
    command = webserver.command(host="127.0.0.1", port=port, workers=workers, threads=threads)
    command[-1:-1] = ["--log-level", "warning"]  # no line per worker started and stopped
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: S603
    _servers[port] = server.pid
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/live", timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        _servers.pop(port, None)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # workers stuck on a loaded machine: the figures are taken already
            server.kill()
            server.wait(timeout=30)


# wrk: one thread (it drives a few connections with a fraction of a core), unique paths for {n},
# and one JSON line of figures when done. Requests answered with a status >= 400 count as errors.
WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  template = args[1]
  counter = 0
end
function request()
  counter = counter + 1
  local path = string.gsub(template, "{n}", tostring(tid) .. "-" .. tostring(counter))
  return wrk.format("GET", path, {Host = "localhost"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "errors": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""

_warned = False


def generator() -> str:
    """``wrk`` when installed, else ``python`` (warned once, with how to install wrk)."""
    global _warned  # noqa: PLW0603 - one warning per run
    if shutil.which("wrk"):
        return "wrk"
    if not _warned:
        _warned = True
        print(
            "\nWARNING: wrk is not installed; falling back to the Python load generator, which takes a large "
            "share of the CPU (figures are lower and noisier). Install wrk: `sudo apt-get install wrk` "
            "(Debian/Ubuntu), `brew install wrk` (macOS).",
            file=sys.stderr,
            flush=True,
        )
    return "python"


# server (granian) main pid per port served, to read its workers' CPU time
_servers: dict[int, int] = {}


def server_cpu(port: int) -> float | None:
    """CPU seconds (user + system) the workers of the server on ``port`` have used so far (Linux /proc)."""
    master = _servers.get(port)
    if master is None:
        return None
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        total = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load(port: int, path: str, *, seconds: float = 5.0, concurrency: int = 4) -> dict[str, float]:
    """Run the load generator in its own process against ``path``; return its figures.

    ``{n}`` in ``path`` becomes a unique token per request. ``generator_cpu_share`` is the
    generator's CPU time over the window's wall time times the machine's cores;
    ``server_cpu_ms`` the server workers' CPU time per request (when :func:`serve` started them).
    """
    tool = generator()
    # unique across calls too: a later round must not find the pages an earlier one cached
    path = path.replace("{n}", f"{uuid.uuid4().hex[:8]}-{{n}}")
    server_before = server_cpu(port)
    cpu_before, wall_before = _children_cpu(), time.perf_counter()
    if tool == "wrk":
        script = BASE_DIR / ".data" / "bench-wrk.lua"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(WRK_SCRIPT)
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
        command += ["-s", str(script), f"http://127.0.0.1:{port}/", "--", path]
        out = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, check=True)  # noqa: S603
        line = next(line for line in out.stdout.splitlines() if line.startswith("WRK "))
        raw = json.loads(line[4:])
        elapsed = raw["duration_us"] / 1e6
        figures = {
            "requests": raw["requests"],
            "errors": raw["errors"],
            "rps": round(raw["requests"] / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(raw["p50_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2),
        }
    else:
        command = [sys.executable, "-m", "tools.bench.loadgen", "--port", str(port), "--path", path]
        command += ["--seconds", str(seconds), "--concurrency", str(concurrency)]
        out = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, check=True)  # noqa: S603
        figures = json.loads(out.stdout)
    wall = time.perf_counter() - wall_before
    server_after = server_cpu(port)
    if server_before is not None and server_after is not None and figures["requests"]:
        # the server's CPU per request: what the machine's load does not change much, unlike req/s
        figures["server_cpu_ms"] = round((server_after - server_before) * 1000 / figures["requests"], 2)
    figures["generator_cpu_share"] = round((_children_cpu() - cpu_before) / (wall * (os.cpu_count() or 1)), 3)
    return figures


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
