"""Read replicas: which database a read goes to (issue 17, docs/databases.md).

``DATABASE_REPLICA_URLS`` adds the aliases ``replica1``, ``replica2``, ... to
``DATABASES`` (listed in ``settings.DATABASE_REPLICAS``). The router below sends
two kinds of reads there and everything else to the primary (``default``):

- analytics reads (the ``analytics`` app's models, and the selectors' own SQL
  through :func:`read_alias`);
- catalog reads of an anonymous request (the public product list and pages).

Reads your own writes: a request or Celery task runs in a *scope*; the first
statement that writes (or a router write) pins the scope to the primary for
the rest of it, and a request that wrote pins its user to the primary for
``DATABASE_REPLICA_PIN_SECONDS`` afterwards (a key in the cache), longer than a
healthy replica lags. A catalog write pins anonymous catalog reads to the primary
for that window too (see ``APP_PIN_KEY``). Reads inside a transaction on the primary stay there. A
replica that cannot be reached is skipped for ``DATABASE_REPLICA_RETRY_SECONDS``
and the primary answers instead. Without replicas every function here returns
``default`` at once.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("olympus.db")

PRIMARY = DEFAULT_DB_ALIAS
# Apps whose reads always may go to a replica, and apps whose reads may when nobody is signed in.
REPLICA_APPS = frozenset({"analytics"})
ANONYMOUS_REPLICA_APPS = frozenset({"catalog"})
PIN_KEY = "db:primary-pin:{user_id}"
# A write to an anonymously read app pins every anonymous read of it for the window: its pages are cached
# (apps.catalog.cache) under versions bumped at commit, and a page read from a replica that has not replayed
# the write yet would be stored under the new version, stale until the cache entry expires.
APP_PIN_KEY = "db:primary-pin:app:{app_label}"
# First words of statements that change nothing (everything else counts as a write).
_READ_WORDS = frozenset({"SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SHOW", "EXPLAIN", "FETCH", "CLOSE", "DECLARE"})


@dataclass
class Scope:
    """One request or task: whether it wrote, and whose it is (read lazily: DRF authenticates in the view)."""

    request: HttpRequest | None = None
    wrote: bool = False
    user_pinned: bool | None = None
    apps_pinned: set[str] = field(default_factory=set)

    def user_id(self) -> Any:
        user = getattr(self.request, "user", None)
        return user.pk if user is not None and user.is_authenticated else None


_scope: ContextVar[Scope | None] = ContextVar("olympus_db_scope", default=None)
# Replica alias -> monotonic time before which it is not tried again.
_down_until: dict[str, float] = {}


def is_write(sql: object) -> bool:
    """Whether a statement may change data (a CTE counts when it inserts, updates or deletes)."""
    text = sql if isinstance(sql, str) else str(sql)
    head = text.lstrip(" \t\n(").split(None, 1)
    word = head[0].upper() if head else ""
    if word == "WITH":
        upper = text.upper()
        return any(f" {verb} " in upper or f"({verb} " in upper for verb in ("INSERT", "UPDATE", "DELETE"))
    return word not in _READ_WORDS


def _mark_writes(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    current = _scope.get()
    if current is not None and is_write(sql):
        current.wrote = True
        for app_label in ANONYMOUS_REPLICA_APPS - current.apps_pinned:
            if f'"{app_label}_' in sql or f" {app_label}_" in sql:
                pin_app(app_label, current)
    return execute(sql, params, many, context)


@contextlib.contextmanager
def scope(request: HttpRequest | None = None) -> Iterator[Scope]:
    """A request or task: writes on the primary pin it there (nothing is watched without replicas)."""
    if not settings.DATABASE_REPLICAS:
        yield Scope(request=request)
        return
    current = Scope(request=request)
    token = _scope.set(current)
    wrappers = connections[PRIMARY].execute_wrappers
    # First in the list, removed by identity: other code's execute_wrapper() blocks push and pop at the end.
    wrappers.insert(0, _mark_writes)
    try:
        yield current
    finally:
        with contextlib.suppress(ValueError):
            wrappers.remove(_mark_writes)
        _scope.reset(token)


def mark_written(app_label: str) -> None:
    """The current request or task writes ``app_label``'s data: its reads stay on the primary from now on."""
    current = _scope.get()
    if current is not None:
        current.wrote = True
    if app_label in ANONYMOUS_REPLICA_APPS and (current is None or app_label not in current.apps_pinned):
        pin_app(app_label, current)


def pin_app(app_label: str, current: Scope | None = None) -> None:
    """Send anonymous reads of ``app_label`` to the primary for the next ``DATABASE_REPLICA_PIN_SECONDS``."""
    if current is not None:
        current.apps_pinned.add(app_label)
    try:
        cache.set(APP_PIN_KEY.format(app_label=app_label), 1, timeout=settings.DATABASE_REPLICA_PIN_SECONDS)
    except Exception:  # the cache is down: so is the page cache that made this pin necessary
        logger.warning("could not pin %s reads to the primary database", app_label, exc_info=True)


def _app_pinned(app_label: str) -> bool:
    try:
        return bool(cache.get(APP_PIN_KEY.format(app_label=app_label)))
    except Exception:  # the cache is down: the primary answers
        return True


def _user_pinned(current: Scope) -> bool:
    if current.user_pinned is None:
        user_id = current.user_id()
        if user_id is None:
            current.user_pinned = False
        else:
            try:
                current.user_pinned = bool(cache.get(PIN_KEY.format(user_id=user_id)))
            except Exception:  # the cache is down: read your writes wins over offloading the primary
                current.user_pinned = True
    return current.user_pinned


def pin_user(user_id: Any) -> None:
    """Keep ``user_id``'s replica reads on the primary for the next ``DATABASE_REPLICA_PIN_SECONDS``."""
    try:
        cache.set(PIN_KEY.format(user_id=user_id), 1, timeout=settings.DATABASE_REPLICA_PIN_SECONDS)
    except Exception:  # the cache is down: the write is done; only its read-back may lag
        logger.warning("could not pin user %s to the primary database", user_id, exc_info=True)


def _reachable_replica() -> str:
    replicas = list(settings.DATABASE_REPLICAS)
    random.shuffle(replicas)
    now = time.monotonic()
    for alias in replicas:
        if _down_until.get(alias, 0.0) > now:
            continue
        try:
            connections[alias].ensure_connection()
        except DatabaseError:
            _down_until[alias] = now + settings.DATABASE_REPLICA_RETRY_SECONDS
            logger.warning("replica %s unreachable; reading from the primary", alias, exc_info=True)
            continue
        return alias
    return PRIMARY


def read_alias(app_label: str) -> str:
    """The database a read of ``app_label``'s data goes to now (``default`` unless a replica may answer)."""
    if not settings.DATABASE_REPLICAS:
        return PRIMARY
    current = _scope.get()
    if app_label in ANONYMOUS_REPLICA_APPS:
        if current is None or current.request is None or current.user_id() is not None:
            return PRIMARY
    elif app_label not in REPLICA_APPS:
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY
    if current is not None and (current.wrote or _user_pinned(current)):
        return PRIMARY
    if app_label in ANONYMOUS_REPLICA_APPS and _app_pinned(app_label):
        return PRIMARY
    return _reachable_replica()


class PrimaryReplicaRouter:
    """Django's database router: replica reads as above, every write and migration on the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not settings.DATABASE_REPLICAS:
            return None
        return read_alias(model._meta.app_label)

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        if not settings.DATABASE_REPLICAS:
            return None
        mark_written(model._meta.app_label)
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True if settings.DATABASE_REPLICAS else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == PRIMARY if db in settings.DATABASE_REPLICAS else None


class ReplicaScopeMiddleware:
    """Each request is a scope; a request that wrote pins its user to the primary for a short while."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.DATABASE_REPLICAS:
            return self.get_response(request)
        with scope(request) as current:
            response = self.get_response(request)
            if current.wrote and (user_id := current.user_id()) is not None:
                pin_user(user_id)
        return response


def task_scope_enter(**kwargs: Any) -> None:
    """Celery ``task_prerun``: a task is a scope of its own (see olympus/celery.py)."""
    if settings.DATABASE_REPLICAS:
        kwargs["task"].request.olympus_db_scope = scope()
        kwargs["task"].request.olympus_db_scope.__enter__()


def task_scope_exit(**kwargs: Any) -> None:
    """Celery ``task_postrun``."""
    entered = getattr(kwargs["task"].request, "olympus_db_scope", None)
    if entered is not None:
        kwargs["task"].request.olympus_db_scope = None
        entered.__exit__(None, None, None)
