"""Service URL helpers shared by the settings and the tools (no Django needed)."""

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def redis_url(base: str, db: int, *, for_celery: bool = False) -> str:
    """Point a Redis URL (``redis://``, ``rediss://`` or ``unix://``) at database ``db``.

    Celery spells Unix sockets ``redis+socket://`` with ``virtual_host``.
    """
    parts = urlsplit(base)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "unix":
        query.pop("db", None)
        query["virtual_host" if for_celery else "db"] = str(db)
        scheme = "redis+socket" if for_celery else "unix"
        return f"{scheme}://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def transaction_pooler_ready(database: dict[str, Any]) -> dict[str, Any]:
    """A ``DATABASES`` entry made safe behind PgBouncer in transaction mode (docs/databases.md).

    No server-side cursors (a named cursor outlives the transaction that declared it, and the next
    transaction may run on another server connection), no server-side prepared statements, and no
    startup ``options``: PgBouncer refuses a connection that sends them unless told to ignore them,
    so settings such as ``random_page_cost`` belong on the database role there.
    """
    options = {key: value for key, value in database.get("OPTIONS", {}).items() if key != "options"}
    return {
        **database,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        # Startup options (``-c setting=value``) do not reach the server through the pooler.
        "OPTIONS": {**options, "prepare_threshold": None},
    }
