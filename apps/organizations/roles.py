"""Roles and the object permissions they grant on an Organization (DESIGN.md's role table).

Pure constants (no model imports) so ``models.py`` can declare the codenames in
``Organization.Meta.permissions`` and services, selectors and the DRF
permission class share one table. Later issues add their resource's codenames
here; ``post_migrate`` (see ``signals.py``) then syncs every organization's role
groups, so existing tenants get the new grants without a data migration.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


def _crud(resource: str, label: str) -> dict[str, str]:
    return {
        f"view_{resource}": f"Can view {label}",
        f"add_{resource}": f"Can add {label}",
        f"change_{resource}": f"Can change {label}",
        f"delete_{resource}": f"Can delete {label}",
    }


# Codenames declared on Organization.Meta.permissions (Django's defaults come on top:
# view/change/delete_organization stand for "organization settings").
CUSTOM_PERMISSIONS: dict[str, str] = {
    **_crud("products", "products"),
    **_crud("orders", "orders"),
    **_crud("members", "members and invitations"),
    "view_billing": "Can view billing",
    "change_billing": "Can change billing",
    **_crud("webhooks", "webhook endpoints"),
    "view_audit_logs": "Can view the audit log",
    "view_analytics": "Can view analytics",
    "manage_owners": "Can make, change or remove owners",
    "moderate_reviews": "Can approve or reject product reviews",
}
SETTINGS_PERMISSIONS = ("view_organization", "change_organization", "delete_organization")
ALL_PERMISSIONS: frozenset[str] = frozenset(CUSTOM_PERMISSIONS) | frozenset(SETTINGS_PERMISSIONS)

# Only an owner holds these; they are never grantable as a member's extra permissions.
OWNER_ONLY: frozenset[str] = frozenset({"manage_owners", "delete_organization", "change_billing"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: ALL_PERMISSIONS,
    Role.ADMIN: ALL_PERMISSIONS - OWNER_ONLY,
    Role.MEMBER: frozenset(
        {
            "view_organization",
            "view_products",
            "add_products",
            "change_products",
            "view_orders",
            "change_orders",
            "view_members",
            "view_analytics",
        }
    ),
    Role.VIEWER: frozenset({"view_organization", "view_products", "view_orders", "view_members"}),
}

# Extra per-member grants (Membership.permissions) may be any of these.
GRANTABLE_PERMISSIONS: frozenset[str] = ALL_PERMISSIONS - OWNER_ONLY
