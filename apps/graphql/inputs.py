"""Mutation input → the REST input serializer → validated data for a service.

GraphQL's type system checks shapes; lengths, ranges, formats and choices are
checked by the very serializers the REST endpoints use, so both doors accept
the same values and name the same fields in ``VALIDATION_ERROR`` details.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from rest_framework import serializers
from strawberry import UNSET


def provided(value: Any) -> Any:
    """A strawberry input as a plain dict of the fields the client sent (nested inputs too)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: provided(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not UNSET
        }
    if isinstance(value, list):
        return [provided(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def validated(serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Run the REST serializer; its ValidationError becomes VALIDATION_ERROR with field details."""
    serializer = serializer_class(data=provided(data), partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
