"""Helpers the organization services share: the user type, the row lock, the permission check."""

from __future__ import annotations

from apps.accounts.models import User
from apps.core.exceptions import PermissionDenied
from apps.organizations.models import Organization
from apps.organizations.selectors import organization_permissions


def _lock_organization(organization: Organization) -> Organization:
    """Row-lock the organization: owner counting and role changes in it run one at a time."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _require(actor: User, organization: Organization, perm: str, message: str) -> None:
    if perm not in organization_permissions(user=actor, organization=organization):
        raise PermissionDenied(message)
