"""Input limits every door applies before a value reaches a service or the database.

- JSON bodies nest at most ``settings.JSON_MAX_DEPTH`` levels. The depth is
  measured by a linear scan *before* the text is decoded, so a body nested
  10,000 levels deep is refused without ever recursing.
- Strings PostgreSQL cannot store (NUL, lone UTF-16 surrogates) are refused,
  wherever they are: plain fields, keys and values inside JSON fields, query
  parameters. The error names the field (``attributes.colour``).
- Date-times are normalised to UTC; values PostgreSQL cannot represent
  (offsets of 16 hours or more, instants outside years 1-9999 in UTC) are refused.

All of these raise :class:`apps.core.exceptions.ValidationError` (400
``VALIDATION_ERROR``) with per-field details; the GraphQL door reports the same code.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from apps.core.exceptions import ValidationError

# Brackets outside JSON strings decide the depth; strings (with escapes) are skipped whole.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPEN, _CLOSE = frozenset("[{"), frozenset("]}")
# NUL and lone surrogates: PostgreSQL text and jsonb cannot hold them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# PostgreSQL accepts UTC offsets up to 15:59 (a larger offset fails as "time zone displacement out of range").
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)
# The same limit in the OpenAPI document: a date-time ends in Z or an offset of at most 15:59.
DATETIME_PATTERN = r"(Z|z|[+-](0[0-9]|1[0-5]):?[0-5][0-9])$"

NUL_MESSAGE = "Contains a character that cannot be stored (NUL or an unpaired surrogate)."


def json_max_depth() -> int:
    return settings.JSON_MAX_DEPTH


def check_json_depth(text: str, *, limit: int | None = None) -> None:
    limit = json_max_depth() if limit is None else limit
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        lexeme = match.group()
        if lexeme in _OPEN:
            depth += 1
            if depth > limit:
                raise ValidationError(
                    f"JSON nested more than {limit} levels deep.", details={"body": [f"At most {limit} levels."]}
                )
        elif lexeme in _CLOSE:
            depth -= 1


def loads(text: str | bytes, *, limit: int | None = None) -> Any:
    """``json.loads`` behind the depth limit; malformed JSON raises ``ValueError`` as json does."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    check_json_depth(text, limit=limit)
    return json.loads(text)


def _printable(name: str) -> str:
    # A field name in an error must itself be sendable: escape what made it unstorable.
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def unstorable_fields(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every string (value or key) in ``value`` that PostgreSQL could not store.

    Iterative, so any depth is safe.
    """
    found: list[str] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                found.append(where or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                name = _printable(str(key))
                child_path = f"{where}.{name}" if where else name
                if _UNSTORABLE.search(str(key)):
                    found.append(child_path)
                stack.append((child_path, child))
        elif isinstance(item, list | tuple):
            for index, child in enumerate(item):
                stack.append((f"{where}.{index}" if where else str(index), child))
    return sorted(set(found))


def check_storable(value: Any, path: str = "") -> None:
    fields = unstorable_fields(value, path)
    if fields:
        raise ValidationError(details={field: [NUL_MESSAGE] for field in fields})


def has_unstorable(text: str) -> bool:
    return bool(_UNSTORABLE.search(text))


def storable_datetime(value: datetime) -> datetime:
    """``value`` in UTC, or ``ValueError`` when PostgreSQL could not represent it."""
    if value.tzinfo is None:
        return value
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("The UTC offset must be less than 16 hours.")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("Out of range: years 1 to 9999 (UTC).") from exc
