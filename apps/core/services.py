"""Generic write helpers shared by every app's services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models


@dataclass
class ModelChanges:
    """What :func:`model_update` changed: old and new values of the changed fields only."""

    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        return list(self.new)

    def __bool__(self) -> bool:
        return bool(self.new)


def model_update(*, instance: models.Model, fields: Iterable[str], data: Mapping[str, Any]) -> ModelChanges:
    """Set the whitelisted ``fields`` present in ``data``; validate and save only what changed.

    The caller's transaction applies; the returned :class:`ModelChanges` is the
    audit diff. Nothing is written when no value differs.
    """
    changes = ModelChanges()
    for name in fields:
        if name not in data:
            continue
        current = getattr(instance, name)
        if current != data[name]:
            changes.old[name] = current
            changes.new[name] = data[name]
            setattr(instance, name, data[name])
    if changes:
        instance.full_clean()
        update_fields = list(changes.fields)
        if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
            update_fields.append("updated_at")
        instance.save(update_fields=update_fields)
    return changes
