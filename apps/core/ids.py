"""Primary keys in time order.

Every Olympus row is keyed by a UUID. A random (version 4) UUID puts each new row's entry on a
random page of every index over the key, and of every index over a column holding another row's
key (an order's items by ``order_id``, the audit log by ``resource_id``): the larger the table,
the more distinct pages a stream of inserts touches, each one read into the cache and, first
after a checkpoint, written whole to the WAL. A version 7 UUID (RFC 9562) starts with its
creation time in milliseconds, so new keys follow one another and their entries land on the
index's newest pages, whatever the table's size. After the time comes a counter (keys made in
one millisecond stay in order) and 32 random bits of each key's own, so no key follows from
another; nothing relies on a key being secret anyway (every read checks the caller's
organization). A key tells the millisecond its row was made, which the API shows as
``created_at``.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new version 7 UUID (the standard library's ``uuid.UUID``)."""
    return uuid7()
