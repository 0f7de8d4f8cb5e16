"""The nightly cleanup: each app registers its steps in its own ``cleanup.py``.

A step is a function returning how many rows it removed; each runs in its own
transaction, so one failing step does not undo the others. Every step is
idempotent (it deletes what is past a cut-off; a second run finds nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger("olympus.jobs")

Step = Callable[[], int]
_steps: dict[str, Step] = {}


def cleanup_step(name: str) -> Callable[[Step], Step]:
    """Register ``func`` as the cleanup step ``name`` (e.g. ``"webhooks.attempts"``)."""

    def register(func: Step) -> Step:
        _steps[name] = func
        return func

    return register


def steps() -> dict[str, Step]:
    autodiscover_modules("cleanup")
    return dict(sorted(_steps.items()))


def run_cleanup() -> dict[str, int]:
    """Run every registered step; the report maps step name to rows removed (-1: the step failed)."""
    report: dict[str, int] = {}
    for name, step in steps().items():
        try:
            with transaction.atomic():
                report[name] = int(step())
        except Exception:
            logger.exception("cleanup step %s failed", name)
            report[name] = -1
    logger.info("cleanup: %s", ", ".join(f"{name}={count}" for name, count in report.items()))
    return report
