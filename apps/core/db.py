"""Database helpers Django does not give: psycopg's pipeline mode and INSERTs compiled ahead.

Together they keep a hot write path short where it holds row locks: compile
the rows' INSERTs before taking the locks (values that depend on a row the
transaction writes later are SQL expressions, evaluated when the statement
runs), then send them under the locks without waiting for each result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Expression, Func, JSONField, Model, Value
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
        meta = model._meta
        fields = [f for f in meta.local_concrete_fields if not f.generated]
        query = InsertQuery(model)
        query.insert_values(fields, list(instances))
        [(self.sql, self.params)] = query.get_compiler(using=using).as_sql()
        self.instances = instances
        self.using = using

    def execute(self) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, self.params)
        for instance in self.instances:
            instance._state.adding = False
            instance._state.db = self.using


def jsonb_with(value: dict[str, Any], **keys: Expression) -> Func:
    """The JSON object ``value`` with ``keys`` set to SQL expressions' values when the statement runs."""
    pairs: list[Any] = []
    for key, expression in keys.items():
        pairs += [Value(key), expression]
    output = JSONField(encoder=DjangoJSONEncoder)
    added = Func(*pairs, function="jsonb_build_object", output_field=output)
    return Func(Value(value, output_field=output), added, template="(%(expressions)s)", arg_joiner=" || ")
