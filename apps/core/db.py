"""Database helpers Django does not give: psycopg's pipeline mode, INSERTs and SELECTs compiled ahead,
statements prepared once per database session.

Together they keep a hot write path short where it holds row locks: compile
the rows' INSERTs before taking the locks (values that depend on a row the
transaction writes later are SQL expressions, evaluated when the statement
runs), then send them under the locks without waiting for each result.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import itertools
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.utils import CursorWrapper
from django.db.models import Expression, Func, JSONField, Model, QuerySet, Value
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery


@contextlib.contextmanager
def pipeline(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Send the block's statements without waiting for each result (psycopg pipeline mode).

    A statement whose result is read (``fetchone``, a count, ``RETURNING``)
    still waits for it; writes nobody reads travel with the next statement
    that is read, or with the block's end. An error surfaces at that next
    synchronisation point and aborts the transaction as usual. Open it inside
    ``transaction.atomic()``, not around it: in pipeline mode psycopg turns
    each change of autocommit (Django's ``BEGIN`` and after ``COMMIT``) into
    a round trip of its own.
    """
    connection = connections[using]
    connection.ensure_connection()
    # An error raised when the pipeline ends is psycopg's own: map it to Django's, as a cursor would.
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


class CompiledInsert:
    """The INSERT ``save(force_insert=True)`` would run for ``instances`` (of one model), compiled now.

    Field values may be expressions (``Subquery``, :func:`jsonb_with`, ...).
    :meth:`execute` runs it later, in the caller's transaction, and marks the
    instances saved; it sends no signals (the models it is used for have none).
    """

    def __init__(self, *instances: Model, using: str = DEFAULT_DB_ALIAS) -> None:
        model = type(instances[0])
        if any(type(instance) is not model for instance in instances):
            raise TypeError("CompiledInsert takes instances of one model.")
        if any(instance.pk is None for instance in instances):
            raise TypeError("CompiledInsert needs primary keys set ahead (it reads nothing back).")
        fields, prefix, placeholders = _insert_shape(model)
        query = InsertQuery(model)
        compiler = query.get_compiler(using=using)
        connection = compiler.connection
        rows, params = [], []
        # What SQLInsertCompiler.as_sql does per value (pre_save, then an expression compiled or a value
        # prepared), without its generic passes over every row and field: on the order path a quarter
        # of the cost of compiling the inserts.
        for instance in instances:
            row = []
            for field, placeholder in zip(fields, placeholders, strict=True):
                value = field.pre_save(instance, add=True)
                if hasattr(value, "resolve_expression"):
                    sql, value_params = compiler.compile(
                        value.resolve_expression(query, allow_joins=False, for_save=True)
                    )
                    row.append(sql)
                    params.extend(value_params)
                else:
                    value = field.get_db_prep_save(value, connection=connection)
                    row.append(placeholder or field.get_placeholder(value, compiler, connection))
                    params.append(value)
            rows.append(f"({', '.join(row)})")
        self.sql = prefix + ", ".join(rows)
        self.params = tuple(params)
        self.instances = instances
        self.using = using

    def execute(self) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, self.params)
        for instance in self.instances:
            instance._state.adding = False
            instance._state.db = self.using


@functools.cache
def _insert_shape(model: type[Model]) -> tuple[list[Any], str, list[str | None]]:
    """The fields an INSERT of ``model`` writes, its ``INSERT INTO … VALUES`` text, each value's placeholder
    (None: the field chooses it per value, ``get_placeholder``)."""
    fields = [f for f in model._meta.local_concrete_fields if not f.generated]
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields if f.column)
    prefix = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608 - quoted model names
    return fields, prefix, [None if hasattr(f, "get_placeholder") else "%s" for f in fields]


def jsonb_with(value: dict[str, Any], **keys: Expression) -> Func:
    """The JSON object ``value`` with ``keys`` set to SQL expressions' values when the statement runs."""
    pairs: list[Any] = []
    for key, expression in keys.items():
        pairs += [Value(key), expression]
    output = JSONField(encoder=DjangoJSONEncoder)
    added = Func(*pairs, function="jsonb_build_object", output_field=output)
    return Func(Value(value, output_field=output), added, template="(%(expressions)s)", arg_joiner=" || ")


class CompiledSelect:
    """A queryset's SELECT compiled once, run with new values: the instance the ORM would return, or None.

    ``build`` takes keyword arguments (UUIDs only) and returns the queryset. It is
    compiled on first use with a marker UUID for each argument; a call puts its
    values where the markers were and builds the first row as ``ModelIterable``
    does (``select_related`` and annotations included), without compiling again.
    A hot lookup (the bearer's session, the ordering organization) pays for its
    round trip and its rows, not for building the same SQL on every request.
    Routing is the ORM's: the alias comes from ``router.db_for_read`` per call (``db_for_write`` for a
    ``select_for_update``).
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], *names: str) -> None:
        self.build = build
        self.names = names
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()
        self._model: type[Model] | None = None
        self._route: Callable[..., str | None] = router.db_for_read

    def _compile(self, using: str) -> _Compiled:
        markers = {name: uuid.uuid4() for name in self.names}
        queryset = self.build(**markers).order_by()[:1]
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        # Where each marker went, and in which form the ORM passed it (the UUID, its hex or its text).
        slots = []
        for position, param in enumerate(params):
            for name, marker in markers.items():
                for form in ("uuid", "hex", "str"):
                    if param == {"uuid": marker, "hex": marker.hex, "str": str(marker)}[form]:
                        slots.append((position, name, form))
        if sorted(name for _, name, _ in slots) != sorted(self.names):
            raise TypeError("CompiledSelect: every argument must appear once in the query's parameters.")
        # What results_iter and ModelIterable work out on every query, worked out once: the columns' converters,
        # the model's init list and the select_related populators (read only, like the compiler).
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            compiler=compiler,
            sql=sql,
            params=list(params),
            slots=slots,
            converters=compiler.get_converters([column[0] for column in select[0 : compiler.col_count]]),
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=[column[0].target.attname for column in select[start:end]],
            populators=get_related_populators(klass_info, select, using),  # type: ignore[call-arg]  # the stubs follow Django 6
            annotations=list((compiler.annotation_col_map or {}).items()),
        )

    def __call__(self, **values: Any) -> Any:
        if self._model is None:
            sample = self.build(**dict.fromkeys(self.names, uuid.UUID(int=0)))
            # A locking read (select_for_update) is routed as a write, as the ORM routes it.
            self._route = router.db_for_write if getattr(sample, "_for_write", False) else router.db_for_read
            self._model = sample.model
        using = self._route(self._model) or DEFAULT_DB_ALIAS
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.setdefault(using, self._compile(using))
        params = list(compiled.params)
        for position, name, form in compiled.slots:
            value = values[name] if isinstance(values[name], uuid.UUID) else uuid.UUID(str(values[name]))
            params[position] = value if form == "uuid" else value.hex if form == "hex" else str(value)
        compiler = copy.copy(compiled.compiler)  # its state is read only; this call's connection and SQL are its own
        compiler.connection = connections[using]
        sql = compiled.sql
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        rows: Iterator[Any] = itertools.chain.from_iterable(compiler.execute_sql(chunked_fetch=False))
        if compiled.converters:
            rows = compiler.apply_converters(rows, compiled.converters)
        for row in rows:
            instance = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.populators:
                populator.populate(row, instance)
            for name, position in compiled.annotations:
                setattr(instance, name, row[position])
            return instance
        return None


@dataclasses.dataclass(frozen=True)
class _Compiled:
    compiler: Any
    sql: str
    params: list[Any]
    slots: list[tuple[int, str, str]]
    converters: dict[int, Any]
    model: type[Model]
    start: int
    end: int
    init_list: list[str]
    populators: list[Any]
    annotations: list[tuple[str, int]]


_PARAMETER = re.compile(r"%\((\w+)\)s")
# Per database session (the psycopg connection): the statements prepared in it, by key, and their names.
_prepared: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_names = itertools.count(1)


class Statement:
    """A statement the delivery path runs for every event or delivery: PostgreSQL parses and plans it once per
    database session instead of every time (planning the delivery statement took more of PostgreSQL's CPU than
    running it).

    Written with ``%(name)s`` parameters like any other; a parameter whose type the statement does not fix
    (one only in a select list) needs a cast, as PREPARE infers the types.

    ``flush_wait=False``: the statement's commit does not wait for its WAL to reach the disk (``SET LOCAL
    synchronous_commit TO OFF`` in the same round trip; run in autocommit, the statement is its own transaction).
    For records whose loss is already covered: only a crash of PostgreSQL itself, within a fraction of a second
    of the commit, can lose them, and what they record is then done again. Inside a caller's transaction it
    waits as usual: the setting would reach everything else that transaction writes.
    """

    def __init__(self, key: str, sql: str, *, flush_wait: bool = True) -> None:
        self.key, self.sql = key, sql
        self._prefix = "" if flush_wait else "SET LOCAL synchronous_commit TO OFF; "
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        self._body = _PARAMETER.sub(number, sql)
        self._arguments = ", ".join(f"%({name})s" for name in names)

    def execute(self, cursor: CursorWrapper, parameters: Mapping[str, Any]) -> None:
        """Run it on ``cursor`` (then fetch as usual): the first time in a session, PREPARE and EXECUTE in one
        round trip; then EXECUTE by name. Plain SQL behind a transaction pooler (a prepared statement does not
        follow a client from one server connection to the next)."""
        prefix = "" if cursor.db.in_atomic_block else self._prefix
        if settings.DB_TRANSACTION_POOLER:
            cursor.execute(prefix + self.sql, parameters)
            _skip(cursor, prefix)
            return
        session = _prepared.setdefault(cursor.db.connection, {})
        name = session.get(self.key)
        if name is not None:
            try:
                cursor.execute(f"{prefix}EXECUTE {name}({self._arguments})", parameters)
            except Exception:
                session.pop(self.key, None)  # whatever went wrong, the next run prepares it afresh
                raise
            _skip(cursor, prefix)
            return
        # A new name each time: a PREPARE that went through before a failure is simply never used.
        name = f"{self.key}_{next(_names)}"
        cursor.execute(f"{prefix}PREPARE {name} AS {self._body}; EXECUTE {name}({self._arguments})", parameters)
        _skip(cursor, prefix)
        cursor.nextset()
        session[self.key] = name


def _skip(cursor: CursorWrapper, prefix: str) -> None:
    if prefix:
        cursor.nextset()  # past the SET's empty result, to the statement's own
