"""Add, change and remove members; an organization always keeps an owner."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.services import record_and_publish
from apps.core.exceptions import Conflict, NotFound, ValidationError
from apps.core.services import model_update
from apps.entitlements import Limit
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.organizations import events
from apps.organizations.models import Membership, Organization
from apps.organizations.roles import Role
from apps.organizations.selectors import member_count
from apps.organizations.services._common import _lock_organization, _require
from apps.organizations.services.grants import _grant, _revoke, _validate_extra_permissions

UNSET: Any = object()


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def _membership_values(membership: Membership) -> dict[str, Any]:
    return {"user_id": membership.user_id, "role": membership.role, "permissions": list(membership.permissions)}


def membership_create(
    *,
    organization: Organization,
    user: User,
    role: str,
    actor: User | None = None,
    permissions: Iterable[str] = (),
    invited_by: User | None = None,
    invited_at: Any = None,
) -> Membership:
    """Add ``user`` with ``role`` (trusted callers: organization creation, invitations, seeds).

    The plan's ``members`` limit is checked under the organization's lock (402 ``PLAN_LIMIT_REACHED``).
    """
    with transaction.atomic():
        organization = plan_limit_lock(organization=organization)
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise Conflict("This user is already a member.", details={"reason": "already_member"})
        plan_limit_check(
            organization=organization, limit=Limit.MEMBERS, current=lambda: member_count(organization=organization)
        )
        membership = Membership(
            organization=organization,
            user=user,
            role=role,
            permissions=_validate_extra_permissions(actor=None, organization=organization, permissions=permissions),
            invited_by=invited_by,
            invited_at=invited_at,
            accepted_at=timezone.now(),
        )
        membership.full_clean(validate_constraints=False)
        membership.save(force_insert=True)
        _grant(membership)
        record_and_publish(
            action="membership.created",
            resource_type="membership",
            resource_id=membership.pk,
            organization=organization,
            new_values=_membership_values(membership),
            **({"actor": actor} if actor is not None else {}),
            event_type=events.MEMBER_ADDED,
            payload={"membership_id": str(membership.pk), "user_id": str(user.pk), "role": role},
        )
    return membership


def membership_update(
    *, actor: User, membership: Membership, role: str = UNSET, permissions: Iterable[str] = UNSET
) -> Membership:
    """Change a member's role and/or extra permissions.

    Only an owner may make someone owner or touch an owner's membership; the
    last owner cannot be demoted (409). Extras must be grantable and held by
    the actor. Takes effect on the member's next request.
    """
    with transaction.atomic():
        organization = _lock_organization(membership.organization)
        locked = Membership.objects.select_related("user").get(pk=membership.pk)
        locked.organization = organization
        data: dict[str, Any] = {}
        if role is not UNSET:
            if role not in Role.values:
                raise ValidationError("Unknown role.", details={"role": [f"Choose one of {', '.join(Role.values)}."]})
            data["role"] = role
        if permissions is not UNSET:
            data["permissions"] = _validate_extra_permissions(
                actor=actor, organization=organization, permissions=permissions
            )
        touches_owner = locked.role == Role.OWNER or data.get("role") == Role.OWNER
        really_changes = any(getattr(locked, key) != value for key, value in data.items())
        if touches_owner and really_changes:
            message = (
                "Only an owner can make someone an owner."
                if locked.role != Role.OWNER
                else "Only an owner can change an owner's membership."
            )
            _require(actor, organization, "manage_owners", message)
        if locked.role == Role.OWNER and data.get("role", Role.OWNER) != Role.OWNER and _owner_count(organization) <= 1:
            raise Conflict("An organization must keep at least one owner.", details={"reason": "last_owner"})
        changes = model_update(instance=locked, fields=["role", "permissions"], data=data)
        if changes:
            _grant(locked)
            record_and_publish(
                action="membership.updated",
                resource_type="membership",
                resource_id=locked.pk,
                organization=organization,
                old_values=changes.old,
                new_values=changes.new,
                actor=actor,
                event_type=events.MEMBER_UPDATED,
                payload={"membership_id": str(locked.pk), "user_id": str(locked.user_id), "fields": changes.fields},
            )
    return locked


def _membership_delete(*, actor: User, membership: Membership, organization: Organization, action: str) -> None:
    if membership.role == Role.OWNER and _owner_count(organization) <= 1:
        raise Conflict(
            "The last owner cannot leave or be removed; make someone else owner or delete the organization.",
            details={"reason": "last_owner"},
        )
    _revoke(membership)
    old_values = _membership_values(membership)
    membership_id = membership.pk
    membership.delete()
    record_and_publish(
        action=action,
        resource_type="membership",
        resource_id=membership_id,
        organization=organization,
        old_values=old_values,
        actor=actor,
        event_type=events.MEMBER_REMOVED,
        payload={"membership_id": str(membership_id), "user_id": str(membership.user_id)},
    )


def membership_remove(*, actor: User, membership: Membership) -> None:
    """Remove a member. Removing an owner takes an owner; the last owner stays (409)."""
    with transaction.atomic():
        organization = _lock_organization(membership.organization)
        locked = Membership.objects.select_related("user").get(pk=membership.pk)
        if locked.role == Role.OWNER and locked.user_id != actor.pk:
            _require(actor, organization, "manage_owners", "Only an owner can remove an owner.")
        _membership_delete(actor=actor, membership=locked, organization=organization, action="membership.removed")


def membership_leave(*, actor: User, organization: Organization) -> None:
    """The actor leaves the organization; the last owner cannot (409)."""
    with transaction.atomic():
        organization = _lock_organization(organization)
        locked = Membership.objects.select_related("user").filter(organization=organization, user=actor).first()
        if locked is None:
            raise NotFound("Organization not found.")
        _membership_delete(actor=actor, membership=locked, organization=organization, action="membership.left")
