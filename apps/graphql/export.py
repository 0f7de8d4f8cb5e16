"""The schema as SDL, and the committed copy at the repository root that clients and reviewers read."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

SCHEMA_FILE = Path(settings.BASE_DIR) / "schema.graphql"


def schema_sdl() -> str:
    from apps.graphql.schema import schema

    return schema.as_str().rstrip("\n") + "\n"


def schema_is_current() -> bool:
    return SCHEMA_FILE.exists() and SCHEMA_FILE.read_text() == schema_sdl()
