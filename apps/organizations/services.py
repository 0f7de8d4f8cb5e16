"""Every write to organizations, memberships and invitations, and the rules they keep.

Authorization split: the DRF permission class (``permissions.py``) checks the
permission an endpoint needs (``change_members`` to PATCH a member, ...);
these services keep the rules that depend on the target's state: an
organization always keeps an owner, only an owner makes, changes or removes
owners (``manage_owners``), only an owner changes billing, extras cannot exceed
what the granter holds, invitations are single-use, unexpired and bound to an
email. Each service is one transaction and writes its audit row and outbox
event inside it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.audit.services import record, record_and_publish
from apps.core.events import publish_event
from apps.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from apps.core.services import model_update
from apps.entitlements import Limit
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.organizations import events
from apps.organizations.models import (
    DEFAULT_SETTINGS,
    Invitation,
    Membership,
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationRoleGroup,
    OrganizationUserObjectPermission,
)
from apps.organizations.roles import ALL_PERMISSIONS, GRANTABLE_PERMISSIONS, ROLE_PERMISSIONS, Role
from apps.organizations.selectors import member_count, open_invitation_count, organization_permissions

User = AbstractBaseUser
UNSET: Any = object()

ORGANIZATION_AUDIT_FIELDS = ("name", "slug", "logo_url", "settings", "billing_email", "status", "deleted_at")
ORGANIZATION_EDITABLE_FIELDS = ("name", "slug", "logo_url", "settings", "billing_email")
BILLING_FIELDS = frozenset({"billing_email"})


def _snapshot(instance: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in fields}


def _lock_organization(organization: Organization) -> Organization:
    """Row-lock the organization: owner counting and role changes in it run one at a time."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def _require(actor: User, organization: Organization, perm: str, message: str) -> None:
    if perm not in organization_permissions(user=actor, organization=organization):
        raise PermissionDenied(message)


# --- guardian grants ----------------------------------------------------------------------


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


# --- organizations ----------------------------------------------------------------------------


def _unique_slug(base: str, *, exclude_pk: uuid.UUID | None = None) -> str:
    base = (slugify(base)[:70].strip("-")) or "organization"
    taken = set(
        Organization.objects.filter(deleted_at__isnull=True, slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def _ensure_slug_free(slug: str, *, exclude_pk: uuid.UUID | None = None) -> None:
    if Organization.objects.filter(deleted_at__isnull=True, slug=slug).exclude(pk=exclude_pk).exists():
        raise Conflict("This slug is taken.", details={"slug": slug})


def organization_create(
    *,
    actor: User,
    name: str,
    slug: str | None = None,
    logo_url: str = "",
    settings: dict[str, Any] | None = None,
    billing_email: str = "",
) -> Organization:
    """Create an organization; ``actor`` becomes its owner. A slug is derived from the name when not given."""
    with transaction.atomic():
        if slug:
            _ensure_slug_free(slug)
        else:
            slug = _unique_slug(name)
        organization = Organization(
            name=name,
            slug=slug,
            logo_url=logo_url,
            settings={**DEFAULT_SETTINGS, **(settings or {})},
            billing_email=billing_email,
        )
        organization.full_clean()
        organization.save(force_insert=True)
        role_groups_ensure(organization=organization)
        record_and_publish(
            action="organization.created",
            resource_type="organization",
            resource_id=organization.pk,
            organization=organization,
            new_values=_snapshot(organization, ORGANIZATION_AUDIT_FIELDS),
            actor=actor,
            event_type=events.ORGANIZATION_CREATED,
            payload={"organization_id": str(organization.pk), "actor_id": str(actor.pk)},
        )
        membership_create(organization=organization, user=actor, role=Role.OWNER, actor=actor)
    return organization


def organization_update(*, actor: User, organization: Organization, data: dict[str, Any]) -> Organization:
    """Change name, slug, logo, settings (merged key by key) or billing email (owners only)."""
    with transaction.atomic():
        locked = _lock_organization(organization)
        data = {key: value for key, value in data.items() if key in ORGANIZATION_EDITABLE_FIELDS}
        if "settings" in data:
            data["settings"] = {**locked.settings, **(data["settings"] or {})}
        if "slug" in data and data["slug"] != locked.slug:
            _ensure_slug_free(data["slug"], exclude_pk=locked.pk)
        if any(key in BILLING_FIELDS and data[key] != getattr(locked, key) for key in data):
            _require(actor, locked, "change_billing", "Only an owner can change billing details.")
        changes = model_update(instance=locked, fields=ORGANIZATION_EDITABLE_FIELDS, data=data)
        if changes:
            record_and_publish(
                action="organization.updated",
                resource_type="organization",
                resource_id=locked.pk,
                organization=locked,
                old_values=changes.old,
                new_values=changes.new,
                actor=actor,
                event_type=events.ORGANIZATION_UPDATED,
                payload={"organization_id": str(locked.pk), "fields": changes.fields},
            )
    return locked


def organization_delete(*, actor: User, organization: Organization) -> None:
    """Soft delete: the organization disappears for everyone; its rows stay for restore and audit."""
    with transaction.atomic():
        locked = _lock_organization(organization)
        if locked.deleted_at is not None:
            return
        changes = model_update(instance=locked, fields=["deleted_at"], data={"deleted_at": timezone.now()})
        record_and_publish(
            action="organization.deleted",
            resource_type="organization",
            resource_id=locked.pk,
            organization=locked,
            old_values=changes.old,
            new_values=changes.new,
            actor=actor,
            event_type=events.ORGANIZATION_DELETED,
            payload={"organization_id": str(locked.pk)},
        )


def organization_restore(*, actor: User, organization: Organization) -> Organization:
    """Undo a soft delete (staff, from the admin); 409 when another organization took the slug meanwhile."""
    with transaction.atomic():
        locked = _lock_organization(organization)
        if locked.deleted_at is None:
            return locked
        _ensure_slug_free(locked.slug, exclude_pk=locked.pk)
        changes = model_update(instance=locked, fields=["deleted_at"], data={"deleted_at": None})
        record_and_publish(
            action="organization.restored",
            resource_type="organization",
            resource_id=locked.pk,
            organization=locked,
            old_values=changes.old,
            new_values=changes.new,
            actor=actor,
            event_type=events.ORGANIZATION_RESTORED,
            payload={"organization_id": str(locked.pk)},
        )
    return locked


# --- memberships ---------------------------------------------------------------------------


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
            organization=organization, limit=Limit.MEMBERS, current=member_count(organization=organization)
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


# --- invitations ----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_values(invitation: Invitation) -> dict[str, Any]:
    return {"email": invitation.email, "role": invitation.role, "expires_at": invitation.expires_at}


def invitation_create(*, actor: User, organization: Organization, email: str, role: str) -> Invitation:
    """Invite an email address with a role and send the email after commit.

    Inviting an existing member or an address with an open invitation is a
    409; an expired open invitation is superseded. Only owners invite owners.
    An open invitation holds a seat: members plus open invitations may not
    exceed the plan's ``members`` limit (402).
    """
    email = email.strip().lower()
    with transaction.atomic():
        organization = _lock_organization(organization)
        if role == Role.OWNER:
            _require(actor, organization, "manage_owners", "Only an owner can invite an owner.")
        if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
            raise Conflict("This person is already a member.", details={"reason": "already_member", "email": email})
        open_invitation = (
            Invitation.objects.select_for_update()
            .filter(organization=organization, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        if open_invitation is not None:
            if open_invitation.expires_at > timezone.now():
                raise Conflict(
                    "An invitation for this address is already pending.",
                    details={"reason": "already_invited", "invitation_id": str(open_invitation.pk)},
                )
            model_update(instance=open_invitation, fields=["revoked_at"], data={"revoked_at": timezone.now()})
        plan_limit_check(
            organization=organization,
            limit=Limit.MEMBERS,
            current=member_count(organization=organization) + open_invitation_count(organization=organization),
        )
        now = timezone.now()
        invitation = Invitation(
            organization=organization,
            email=email,
            role=role,
            invited_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
        )
        invitation.full_clean(validate_constraints=False)
        invitation.save(force_insert=True)
        record(
            action="invitation.created",
            resource_type="invitation",
            resource_id=invitation.pk,
            organization=organization,
            new_values=_invitation_values(invitation),
            actor=actor,
        )
        publish_event(
            event_type=events.INVITATION_CREATED,
            payload={"invitation_id": str(invitation.pk), "email": email, "role": role},
            organization_id=organization.pk,
        )  # its outbox handler emails the invitation (apps.organizations.events)
    return invitation


def invitation_send(*, invitation_id: uuid.UUID | str) -> str | None:
    """Issue a fresh single-use token and email it; returns the token (None when no longer pending).

    The token exists in clear only in the email: the row keeps its SHA-256.
    A resend therefore invalidates the previous link.
    """
    from apps.organizations.emails import send_invitation_email

    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if (
            invitation is None
            or invitation.status != Invitation.Status.PENDING
            or invitation.organization.deleted_at is not None
        ):
            return None
        token = secrets.token_urlsafe(32)
        invitation.token_hash = hash_token(token)
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["token_hash", "sent_at", "updated_at"])
        send_invitation_email(invitation=invitation, token=token)
    return token


def invitation_resend(*, actor: User, invitation: Invitation) -> Invitation:
    """Extend an open (or expired) invitation by the TTL and email a new link."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None or locked.revoked_at is not None:
            raise Conflict("Only an open invitation can be resent.", details={"reason": locked.status})
        changes = model_update(
            instance=locked,
            fields=["expires_at"],
            data={"expires_at": timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)},
        )
        record(
            action="invitation.resent",
            resource_type="invitation",
            resource_id=locked.pk,
            organization=locked.organization_id,
            old_values=changes.old,
            new_values=changes.new,
            actor=actor,
        )
        publish_event(
            event_type=events.INVITATION_RESENT,
            payload={"invitation_id": str(locked.pk), "email": locked.email, "role": locked.role},
            organization_id=locked.organization_id,
        )  # its outbox handler emails the new link
    return locked


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """Revoke an open invitation (revoking twice is a no-op; an accepted one is a 409)."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise Conflict("This invitation was already accepted.", details={"reason": "already_accepted"})
        if locked.revoked_at is not None:
            return locked
        changes = model_update(instance=locked, fields=["revoked_at"], data={"revoked_at": timezone.now()})
        record_and_publish(
            action="invitation.revoked",
            resource_type="invitation",
            resource_id=locked.pk,
            organization=locked.organization_id,
            old_values=changes.old,
            new_values=changes.new,
            actor=actor,
            event_type=events.INVITATION_REVOKED,
            payload={"invitation_id": str(locked.pk)},
        )
    return locked


def invitation_accept(*, user: User, token: str) -> Membership:
    """Turn an invitation into a membership: once, before expiry, only for the invited email."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization", "invited_by")
            .filter(token_hash=hash_token(token or ""))
            .first()
        )
        if invitation is None or invitation.organization.deleted_at is not None:
            raise NotFound("Invitation not found.")
        if (user.email or "").lower() != invitation.email.lower():
            raise PermissionDenied("This invitation was sent to another email address.")
        if invitation.accepted_at is not None:
            raise Conflict("This invitation was already accepted.", details={"reason": "already_accepted"})
        if invitation.revoked_at is not None:
            raise Conflict("This invitation was revoked.", details={"reason": "revoked"})
        if invitation.expires_at <= timezone.now():
            raise Conflict("This invitation has expired.", details={"reason": "expired"})
        membership = membership_create(
            organization=invitation.organization,
            user=user,
            role=invitation.role,
            actor=user,
            invited_by=invitation.invited_by,
            invited_at=invitation.created_at,
        )
        changes = model_update(
            instance=invitation,
            fields=["accepted_at", "accepted_by"],
            data={"accepted_at": membership.accepted_at, "accepted_by": user},
        )
        record_and_publish(
            action="invitation.accepted",
            resource_type="invitation",
            resource_id=invitation.pk,
            organization=invitation.organization,
            old_values={"accepted_at": None, "accepted_by": None},
            new_values={"accepted_at": changes.new["accepted_at"], "accepted_by": user.pk},
            actor=user,
            event_type=events.INVITATION_ACCEPTED,
            payload={"invitation_id": str(invitation.pk), "membership_id": str(membership.pk)},
        )
    return membership
