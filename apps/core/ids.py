"""Primary keys in time order.

Every Olympus row is keyed by a UUID. A random (version 4) UUID puts each new row's entry on a
random page of every index over the key, and of every index over a column holding another row's
key (an order's items by ``order_id``, the audit log by ``resource_id``): the larger the table,
the more distinct pages a stream of inserts touches, each one read into the cache and, first
after a checkpoint, written whole to the WAL. A version 7 UUID (RFC 9562) starts with its
creation time in milliseconds, so new keys follow one another and their entries land on the
index's newest pages, whatever the table's size. The rest of the key is a counter for keys made
in the same millisecond and random bits, so keys stay unguessable; they do tell the millisecond
a row was made, which every API shows as ``created_at`` anyway.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new version 7 UUID (the standard library's ``uuid.UUID``)."""
    return uuid7()
