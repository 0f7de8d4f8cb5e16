"""Audit changes for people: one row per changed field (before, after), not a dict's repr."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

_ABSENT = object()


def _text(value: Any) -> str:
    if value is _ABSENT or value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def change_rows(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """``(field, before, after)`` for every field in either side, in the order they were recorded."""
    old, new = old or {}, new or {}
    fields = list(dict.fromkeys([*new, *old]))
    return [(name.replace("_", " "), _text(old.get(name, _ABSENT)), _text(new.get(name, _ABSENT))) for name in fields]


def changes_table(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> SafeString:
    rows = change_rows(old, new)
    if not rows:
        return format_html("<span>{}</span>", "No field changes recorded.")
    body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td></tr>", rows)
    return format_html(
        "<table class='audit-changes'><thead><tr><th>field</th><th>before</th><th>after</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        body,
    )
