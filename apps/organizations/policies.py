"""Who may do what in an organization: the role checks services, the admin and GraphQL share.

A role is granted as guardian object permissions on the Organization (see
``roles.py``); superusers hold every permission. A user outside the
organization gets ``NOT_FOUND`` (no existence leak), a member without the
permission ``FORBIDDEN``.
"""

from __future__ import annotations

import uuid
from typing import Any

from apps.core.exceptions import NotFound, PermissionDenied
from apps.entitlements import Feature, feature_enabled, feature_require
from apps.organizations.models import Membership, Organization
from apps.organizations.selectors import organization_permissions


def permission_require(
    *, user: Any, organization: Organization, perm: str, permissions: frozenset[str] | None = None
) -> None:
    """NOT_FOUND unless ``user`` belongs to ``organization`` (or is a superuser); FORBIDDEN without ``perm``.

    ``permissions``: what the caller holds on the organization, when the door
    already read it (one guardian checker per request); read here otherwise.
    """
    if permissions is None:
        permissions = organization_permissions(user=user, organization=organization)
    if not permissions:
        raise NotFound("Organization not found.")
    if perm not in permissions:
        raise PermissionDenied()


def staff_organization_ids(*, user: Any) -> frozenset[uuid.UUID] | None:
    """The organizations a staff member may see in the admin; ``None`` means all (superusers)."""
    if getattr(user, "is_superuser", False):
        return None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    return frozenset(
        Membership.objects.filter(user=user, organization__deleted_at__isnull=True).values_list(
            "organization_id", flat=True
        )
    )


def graphql_member_access_allowed(*, organization: Organization) -> bool:
    """Members act on their organization over GraphQL only when its plan has the ``graphql`` feature.

    Customers' GraphQL (public products, placing and reading their own orders,
    their account) is open on every plan: anonymous catalog reads have no
    organization whose plan could decide.
    """
    return feature_enabled(organization=organization, feature=Feature.GRAPHQL)


def graphql_member_access_require(*, organization: Organization) -> None:
    """402 ``FEATURE_NOT_IN_PLAN`` unless the organization's plan has GraphQL."""
    feature_require(organization=organization, feature=Feature.GRAPHQL)
