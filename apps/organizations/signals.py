"""Framework glue only."""

from __future__ import annotations

from typing import Any


def sync_role_permissions_after_migrate(using: str = "default", **kwargs: Any) -> None:
    """After ``migrate``: role groups of existing organizations get codenames added to ROLE_PERMISSIONS."""
    from apps.organizations.services import role_permissions_sync

    role_permissions_sync()
