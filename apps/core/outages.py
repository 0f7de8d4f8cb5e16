"""Which errors mean "a dependency is down or too slow" (issue 18).

Kept apart from :mod:`apps.core.exceptions` (which imports DRF's views) so that
throttles, caches and tasks can ask without an import cycle.
"""

from __future__ import annotations

import functools


@functools.cache
def dependency_errors() -> tuple[type[BaseException], ...]:
    """PostgreSQL, Redis or the broker cannot be reached or did not answer in time: the caller may retry."""
    import kombu.exceptions
    import redis.exceptions
    from django import db
    from django_redis.exceptions import ConnectionInterrupted

    return (
        db.OperationalError,  # cannot connect, connection lost, server shutting down
        db.InterfaceError,  # the connection was closed under us
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        ConnectionInterrupted,
        kombu.exceptions.OperationalError,
    )


def is_dependency_down(exc: BaseException) -> bool:
    return isinstance(exc, dependency_errors())
