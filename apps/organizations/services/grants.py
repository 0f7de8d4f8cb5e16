"""Guardian grants: each organization's role groups and a member's extra object permissions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from apps.accounts.models import User
from apps.core.exceptions import PermissionDenied, ValidationError
from apps.organizations.models import (
    Membership,
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationRoleGroup,
    OrganizationUserObjectPermission,
)
from apps.organizations.roles import ALL_PERMISSIONS, GRANTABLE_PERMISSIONS, ROLE_PERMISSIONS, Role
from apps.organizations.selectors import organization_permissions


def _permission_ids(codenames: Iterable[str]) -> dict[str, int]:
    content_type = ContentType.objects.get_for_model(Organization)
    return dict(
        Permission.objects.filter(content_type=content_type, codename__in=list(codenames)).values_list("codename", "id")
    )


def role_groups_ensure(*, organization: Organization) -> dict[str, Group]:
    """Create the organization's four role groups (once) and grant each its role's permissions."""
    with transaction.atomic():
        groups = {
            rg.role: rg.group
            for rg in OrganizationRoleGroup.objects.filter(organization=organization).select_related("group")
        }
        missing = [role for role in Role if role not in groups]
        for role in missing:
            group = Group.objects.create(name=f"org:{organization.pk}:{role}")
            OrganizationRoleGroup.objects.create(organization=organization, role=role, group=group)
            groups[role] = group
        if missing:
            role_permissions_sync(organization_ids=[organization.pk])
    return groups


def role_permissions_sync(*, organization_ids: Sequence[uuid.UUID] | None = None, batch_size: int = 500) -> int:
    """Make every role group's guardian grants equal ROLE_PERMISSIONS; return rows added plus removed.

    Runs after ``migrate`` so a codename added to a role reaches existing
    organizations. Idempotent and set-based (a few queries per batch).
    """
    perm_ids = _permission_ids(ALL_PERMISSIONS)
    if not perm_ids:  # permissions not created yet (first migrate of an empty database)
        return 0
    changed = 0
    role_groups = OrganizationRoleGroup.objects.order_by("pk")
    if organization_ids is not None:
        role_groups = role_groups.filter(organization_id__in=organization_ids)
    rows = list(role_groups.values_list("group_id", "organization_id", "role"))
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        wanted = {
            (group_id, perm_ids[codename], org_id)
            for group_id, org_id, role in batch
            for codename in ROLE_PERMISSIONS.get(role, ())
            if codename in perm_ids
        }
        existing = {
            (group_id, perm_id, org_id): pk
            for pk, group_id, perm_id, org_id in OrganizationGroupObjectPermission.objects.filter(
                group_id__in=[group_id for group_id, _, _ in batch]
            ).values_list("pk", "group_id", "permission_id", "content_object_id")
        }
        to_add = wanted - existing.keys()
        to_remove = [pk for key, pk in existing.items() if key not in wanted]
        OrganizationGroupObjectPermission.objects.bulk_create(
            [
                OrganizationGroupObjectPermission(group_id=group_id, permission_id=perm_id, content_object_id=org_id)
                for group_id, perm_id, org_id in to_add
            ],
            ignore_conflicts=True,
        )
        if to_remove:
            OrganizationGroupObjectPermission.objects.filter(pk__in=to_remove).delete()
        changed += len(to_add) + len(to_remove)
    return changed


def _grant(membership: Membership) -> None:
    """Put the user in exactly the role group of their role and sync their extra grants."""
    groups = role_groups_ensure(organization=membership.organization)
    user = membership.user
    others = [group for role, group in groups.items() if role != membership.role]
    user.groups.remove(*others)
    user.groups.add(groups[membership.role])

    perm_ids = _permission_ids(membership.permissions) if membership.permissions else {}
    grants = OrganizationUserObjectPermission.objects.filter(user=user, content_object=membership.organization)
    grants.exclude(permission_id__in=perm_ids.values()).delete()
    have = set(grants.values_list("permission_id", flat=True))
    OrganizationUserObjectPermission.objects.bulk_create(
        [
            OrganizationUserObjectPermission(user=user, permission_id=perm_id, content_object=membership.organization)
            for perm_id in perm_ids.values()
            if perm_id not in have
        ],
        ignore_conflicts=True,
    )


def _revoke(membership: Membership) -> None:
    groups = OrganizationRoleGroup.objects.filter(organization=membership.organization).values_list(
        "group_id", flat=True
    )
    membership.user.groups.remove(*Group.objects.filter(pk__in=groups))
    OrganizationUserObjectPermission.objects.filter(
        user=membership.user, content_object=membership.organization
    ).delete()


def _validate_extra_permissions(
    *, actor: User | None, organization: Organization, permissions: Iterable[str]
) -> list[str]:
    codenames = sorted(set(permissions))
    unknown = [c for c in codenames if c not in ALL_PERMISSIONS]
    if unknown:
        raise ValidationError("Unknown permission codename(s).", details={"permissions": unknown})
    not_grantable = [c for c in codenames if c not in GRANTABLE_PERMISSIONS]
    if not_grantable:
        raise ValidationError(
            "These permissions belong to owners and cannot be granted as extras.",
            details={"permissions": not_grantable},
        )
    if actor is not None and codenames:
        held = organization_permissions(user=actor, organization=organization)
        beyond = [c for c in codenames if c not in held]
        if beyond:
            raise PermissionDenied("You cannot grant permissions you do not hold.", details={"permissions": beyond})
    return codenames
