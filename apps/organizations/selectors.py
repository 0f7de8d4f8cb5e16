"""Reads shared by views, tasks and admin; every one scoped to what the acting user may see."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Model, QuerySet
from django.utils import timezone
from guardian.core import ObjectPermissionChecker

from apps.core.exceptions import NotFound
from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.roles import ALL_PERMISSIONS, Role

M = TypeVar("M", bound=Model)

User = AbstractBaseUser | AnonymousUser


def scope_to_organization(
    queryset: QuerySet[M],
    *,
    user: User,
    organization: Organization | uuid.UUID | str | None = None,
    field: str = "organization",
) -> QuerySet[M]:
    """Restrict a tenant queryset to organizations ``user`` belongs to (and that are not deleted).

    THE queryset-scoping helper: every selector for tenant data goes through
    it. ``field`` is the path from the queryset's model to its Organization
    (``"organization"``, ``"order__organization"``; ``""`` when the queryset is
    of Organizations). Pass ``organization`` to narrow to one tenant. Rows of
    other tenants simply are not there, so a lookup answers 404, never 403.
    It adds a join, never an extra query.
    """
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    prefix = f"{field}__" if field else ""
    filters: dict[str, Any] = {f"{prefix}memberships__user": user, f"{prefix}deleted_at__isnull": True}
    if organization is not None:
        filters[field or "pk"] = organization
    return queryset.filter(**filters)


def organization_list(*, user: User) -> QuerySet[Organization]:
    """Organizations the user belongs to, each annotated with ``my_role``."""
    return scope_to_organization(Organization.objects.all(), user=user, field="").annotate(
        my_role=F("memberships__role")
    )


def organization_get(*, user: User, organization_id: uuid.UUID | str) -> Organization:
    """One of the user's organizations, or NotFound (missing, deleted and foreign look the same)."""
    try:
        return organization_list(user=user).get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError) as exc:
        raise NotFound("Organization not found.") from exc


def organization_permissions(
    *, user: User, organization: Organization, checker: ObjectPermissionChecker | None = None
) -> frozenset[str]:
    """The codenames ``user`` holds on ``organization`` (role group + extra grants), from guardian.

    Pass a ``checker`` to reuse its cache within one request; a fresh one is
    built otherwise, so a role change is seen by the very next check.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    checker = checker or ObjectPermissionChecker(user)
    return frozenset(checker.get_perms(organization)) & ALL_PERMISSIONS


def organization_has_perm(
    *, user: User, organization: Organization, perm: str, checker: ObjectPermissionChecker | None = None
) -> bool:
    return perm in organization_permissions(user=user, organization=organization, checker=checker)


def membership_list(*, user: User, organization: Organization) -> QuerySet[Membership]:
    return scope_to_organization(
        Membership.objects.select_related("user", "invited_by"), user=user, organization=organization
    )


def membership_get(*, user: User, organization: Organization, membership_id: uuid.UUID | str) -> Membership:
    try:
        return membership_list(user=user, organization=organization).get(pk=membership_id)
    except (Membership.DoesNotExist, ValueError) as exc:
        raise NotFound("Membership not found.") from exc


def membership_of(*, user: User, organization: Organization) -> Membership:
    """The user's own membership in the organization, or NotFound."""
    if user.pk is None:  # an anonymous caller is a member of nothing
        raise NotFound("Organization not found.")
    try:
        return membership_list(user=user, organization=organization).get(user_id=user.pk)
    except Membership.DoesNotExist as exc:
        raise NotFound("Organization not found.") from exc


def invitation_list(*, user: User, organization: Organization) -> QuerySet[Invitation]:
    return scope_to_organization(
        Invitation.objects.select_related("invited_by", "accepted_by"), user=user, organization=organization
    )


def invitation_get(*, user: User, organization: Organization, invitation_id: uuid.UUID | str) -> Invitation:
    try:
        return invitation_list(user=user, organization=organization).get(pk=invitation_id)
    except (Invitation.DoesNotExist, ValueError) as exc:
        raise NotFound("Invitation not found.") from exc


def organization_owner_emails(*, organization_id: uuid.UUID | str) -> list[str]:
    """Where system notices for an organization go (webhook disabled, weekly summary): its active owners.

    For tasks acting as the system, not for views: there is no acting user to scope by.
    """
    return list(
        Membership.objects.filter(
            organization_id=organization_id,
            organization__deleted_at__isnull=True,
            role=Role.OWNER,
            user__is_active=True,
        )
        .order_by("created_at")
        .values_list("user__email", flat=True)
    )


def member_count(*, organization: Organization) -> int:
    """How many members the organization has (the ``members`` plan limit counts these)."""
    return Membership.objects.filter(organization=organization).count()


def open_invitation_count(*, organization: Organization) -> int:
    """Invitations not accepted, revoked or expired: each holds a seat until it is answered."""
    return Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).count()
