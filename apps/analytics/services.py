"""Refreshing the analytics materialized views."""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction

from apps.analytics import sql

logger = logging.getLogger("olympus.analytics")
# One refresh at a time across every worker (a second caller skips: the first one is doing the work).
REFRESH_LOCK = 4_207_311


def analytics_refresh(*, concurrently: bool = True) -> dict[str, float] | None:
    """REFRESH MATERIALIZED VIEW [CONCURRENTLY] for each view; seconds per view, or None if one is running.

    CONCURRENTLY (the unique indexes allow it) keeps the views readable while
    they refresh. Idempotent: a refresh recomputes everything from the orders.
    """
    timings: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REFRESH_LOCK])
        if not cursor.fetchone()[0]:
            logger.info("analytics refresh already running elsewhere; skipped")
            return None
        for view in sql.VIEWS:
            started = time.perf_counter()
            cursor.execute(f"REFRESH MATERIALIZED VIEW {'CONCURRENTLY ' if concurrently else ''}{view}")
            timings[view] = round(time.perf_counter() - started, 4)
    logger.info("analytics refreshed: %s", ", ".join(f"{view} {seconds}s" for view, seconds in timings.items()))
    return timings
