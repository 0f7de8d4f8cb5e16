"""Redis writes a commit triggers, sent in one round trip when a service's block ends.

A write that must follow a commit (the outbox's relay flag, a catalog version bump) is
registered with ``transaction.on_commit`` as before, so a rolled-back transaction or
savepoint never sends it. When its hook runs inside :func:`batched` (a service wraps its
outermost ``atomic`` in it), the write joins the block's batch; the block ends right after
the commit and sends the batch as one pipeline. Outside such a block (or when the
transaction commits later, in a caller's ``atomic``), the write is sent at once, alone.

Each write adds its commands to the pipeline, then gets its own results (a failed command
as its exception) or the error that failed the whole round trip; it handles them as it
handled its single call before.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any, Protocol


class RedisWrite(Protocol):
    def queue(self, pipe: Any) -> None:
        """Add this write's commands to ``pipe`` (a non-transactional redis-py pipeline)."""

    def done(self, results: list[Any]) -> None:
        """This write's results, in the order of its commands; a command that failed is its exception."""

    def failed(self, exc: Exception) -> None:
        """The round trip failed (Redis down, a timeout): none of the commands is known to have run."""


_local = threading.local()


def _redis() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Collect the Redis writes sent in the block and send them in one round trip when it ends.

    Nested blocks join the outermost one. The batch is sent even when the block raises: what it
    holds came from transactions that committed.
    """
    if getattr(_local, "batch", None) is not None:
        yield
        return
    batch: list[RedisWrite] = []
    _local.batch = batch
    try:
        yield
    finally:
        _local.batch = None
        if batch:
            _send(batch)


def send(write: RedisWrite) -> None:
    """Send ``write`` now, or with the enclosing :func:`batched` block's others when it ends."""
    batch = getattr(_local, "batch", None)
    if batch is None:
        _send([write])
    else:
        batch.append(write)


def _send(writes: list[RedisWrite]) -> None:
    sizes = []
    try:
        pipe = _redis().pipeline(transaction=False)
        for write in writes:
            before = len(pipe)
            write.queue(pipe)
            sizes.append(len(pipe) - before)
        results = pipe.execute(raise_on_error=False)
    except Exception as exc:
        outcomes = [functools.partial(write.failed, exc) for write in writes]
    else:
        outcomes, start = [], 0
        for write, size in zip(writes, sizes, strict=True):
            outcomes.append(functools.partial(write.done, list(results[start : start + size])))
            start += size
    # Every write handles its outcome; the first one that raises is raised after all have run.
    error: BaseException | None = None
    for outcome in outcomes:
        try:
            outcome()
        except Exception as exc:
            error = error or exc
    if error is not None:
        raise error
