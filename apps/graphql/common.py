"""Building blocks shared by the schema modules: paged connections and single-object reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NewType, TypeVar

import dateutil.parser
import strawberry
import strawberry_django
from django.conf import settings
from django.db.models import Model, QuerySet
from strawberry.annotation import StrawberryAnnotation
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types import Info
from strawberry_django import optimizer
from strawberry_django.fields.field import StrawberryDjangoConnectionExtension, StrawberryDjangoField
from strawberry_django.relay import DjangoCursorConnection

from apps.core.exceptions import NotFound, ValidationError
from apps.core.inputs import storable_datetime

M = TypeVar("M", bound=Model)

__all__ = ["SCALAR_MAP", "BigInt", "DjangoCursorConnection", "get_one", "page_connection"]


def _parse_big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("BigInt must be an integer.")
    return int(value)


def _parse_datetime(value: str) -> datetime:
    # ISO 8601 as strawberry parses it, then UTC; offsets and instants PostgreSQL cannot hold are refused.
    return storable_datetime(dateutil.parser.isoparse(value))


BigInt = NewType("BigInt", int)
SCALAR_MAP = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="Date with time (isoformat)",
        serialize=datetime.isoformat,
        parse_value=wrap_parser(_parse_datetime, "DateTime"),
    ),
    BigInt: strawberry.scalar(
        name="BigInt",
        description="A whole number that may not fit in 32 bits (amounts in cents); sent as a JSON number.",
        serialize=int,
        parse_value=_parse_big_int,
    ),
}


class ForwardPageExtension(StrawberryDjangoConnectionExtension):
    """Relay forward pagination only (``first``, ``after``): ``first`` defaults to a page and is capped.

    Backward arguments are left out on purpose: with both ``first`` and ``last``
    optional there is no way to bound a nested connection that names neither,
    and forward pagination alone is a complete Relay connection.
    """

    def apply(self, field: Any) -> None:
        super().apply(field)
        arguments = []
        for argument in field.arguments:
            if argument.python_name in {"before", "last"}:
                continue
            if argument.python_name == "first":
                argument.type_annotation = StrawberryAnnotation(int)
                argument.default = settings.GRAPHQL_DEFAULT_PAGE_SIZE
                argument.description = f"How many items (1 to {settings.GRAPHQL_MAX_PAGE_SIZE})."
            if argument.python_name == "after":
                argument.description = "The `endCursor` of the previous page."
            arguments.append(argument)
        field.arguments = arguments

    def resolve(self, next_: Any, source: Any, info: Info, *, first: int | None = None, **kwargs: Any) -> Any:
        if first is None or not 1 <= first <= settings.GRAPHQL_MAX_PAGE_SIZE:
            raise ValidationError(details={"first": [f"Must be between 1 and {settings.GRAPHQL_MAX_PAGE_SIZE}."]})
        return super().resolve(next_, source, info, first=first, **kwargs)


# Set while get_one optimizes the queryset of its single row (see PageField).
_ONE_ROOT: ContextVar[bool] = ContextVar("olympus_graphql_one_root", default=False)


@contextmanager
def _one_root() -> Iterator[None]:
    token = _ONE_ROOT.set(True)
    try:
        yield
    finally:
        _ONE_ROOT.reset(token)


class PageField(StrawberryDjangoField):
    """A nested connection that, under a single parent row, reads its page with a ``LIMIT`` of its own.

    Under a list of parents the optimizer prefetches every parent's page in one
    windowed query (``ROW_NUMBER() OVER (PARTITION BY parent)`` and a
    ``COUNT(1) OVER`` for ``totalCount``): that numbers every row of every parent
    before keeping the first ``first + 1``, so its cost grows with the parents'
    sizes (a 100,000-order organization: ~1 s). Under one parent (``get_one``:
    ``organization(id:)``) that prefetch would save no query, so the optimizer
    leaves the field alone and the field resolves its own page: the same
    selector-scoped queryset, keyset-paginated, ``LIMIT first + 1`` on the
    tenant's index, with its own nested selections optimized as usual.
    """

    @property  # an attribute in the base class; the optimizer reads it
    def disable_optimization(self) -> bool:
        return self._disable_optimization or _ONE_ROOT.get()

    @disable_optimization.setter
    def disable_optimization(self, value: bool) -> None:
        self._disable_optimization = value


def page_connection(graphql_type: Any = None, resolver: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``strawberry_django.connection`` with :class:`ForwardPageExtension` (keyset cursors, ≤ 100 a page)."""
    kwargs.setdefault("field_cls", PageField)
    field = strawberry_django.connection(graphql_type, max_results=settings.GRAPHQL_MAX_PAGE_SIZE, **kwargs)
    field.extensions = [
        ForwardPageExtension(max_results=settings.GRAPHQL_MAX_PAGE_SIZE)
        if isinstance(extension, StrawberryDjangoConnectionExtension)
        else extension
        for extension in field.extensions
    ]
    return field(resolver) if resolver is not None else field


def get_one(queryset: QuerySet[M], info: Info, *, message: str = "Not found.") -> M:
    """The one row of a selector's queryset, with what the selection needs loaded; NOT_FOUND otherwise."""
    extension = optimizer.optimizer.get()  # the running DjangoOptimizerExtension and its settings
    if extension is not None:
        with _one_root():  # nested pages read with their own LIMIT (PageField)
            queryset = extension.optimize(queryset, info)
    try:
        return queryset.get()
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(message) from exc


def get_list(queryset: QuerySet[M], info: Info, *, order: list[Any]) -> list[M]:
    """The rows of a selector's queryset in ``order`` (their primary keys), with what the selection needs loaded.

    For mutations that return several rows: one query for the rows and one per nested relation, whatever their number.
    """
    extension = optimizer.optimizer.get()
    if extension is not None:
        queryset = extension.optimize(queryset, info)
    rows = {row.pk: row for row in queryset}
    return [rows[pk] for pk in order if pk in rows]
