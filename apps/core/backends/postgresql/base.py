"""PostgreSQL as django-prometheus instruments it, with a health check that needs no round trip.

``CONN_HEALTH_CHECKS`` makes Django check a kept connection before each request's first query,
and Django's PostgreSQL check is a ``SELECT 1``: one more round trip on every request. A kept
connection sits idle between requests, and an idle connection's socket has nothing to read
unless the server spoke out of turn: it closed the connection (a restart, a
``pg_terminate_backend``, an idle timeout) or sent a notice. So a socket with nothing to read
is used as it is, and one with something to read gets Django's ``SELECT 1``, which tells a
closed connection from a notice. A connection the network silently dropped passes either
check until its first query fails, as before.
"""

from __future__ import annotations

import select

from django_prometheus.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            spoke = bool(poller.poll(0))
        except (OSError, ValueError):
            return False
        return not spoke or super().is_usable()
