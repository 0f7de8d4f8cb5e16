"""The API's JSON parser: DRF's, behind the depth limit and the storable-characters check."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


class JSONParser(parsers.JSONParser):
    """JSON bodies nest at most ``JSON_MAX_DEPTH`` levels and hold only strings PostgreSQL can store."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        # Imported here: DRF loads this class while apps.core.exceptions (which inputs uses) is still importing.
        from apps.core import inputs

        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            inputs.check_json_depth(text)
            data = json.loads(text, strict=self.strict)
        except ValueError as exc:  # malformed JSON or undecodable bytes
            raise ParseError(f"JSON parse error - {exc}") from exc
        inputs.check_storable(data)
        return data
