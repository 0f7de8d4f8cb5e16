"""`make bench`: run every app's benchmarks (``apps/<app>/bench.py``) and print figures.

Each module exposes ``BENCHMARKS``: callables that take no argument and return
a dict of named figures. Timing goals live here, never in the test suite.
Benchmarks run against the development database inside a transaction that is
rolled back, so they leave nothing behind.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from collections.abc import Callable
from typing import Any


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


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    import apps

    call_command("migrate", interactive=False, verbosity=0)
    selected = set(sys.argv[1:])
    for module_info in pkgutil.iter_modules(apps.__path__):
        if selected and module_info.name not in selected:
            continue
        try:
            module = importlib.import_module(f"apps.{module_info.name}.bench")
        except ModuleNotFoundError:
            continue
        for bench in module.BENCHMARKS:
            print(f"{module_info.name}.{bench.__name__}: ", end="", flush=True)
            try:
                with transaction.atomic():
                    result = bench()
                    raise Rollback
            except Rollback:
                pass
            print(", ".join(f"{key}={value}" for key, value in result.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
