"""Single-use, expiring, email-bound invitations and their acceptance."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.services import record_and_publish
from apps.core.exceptions import Conflict, NotFound, PermissionDenied
from apps.core.services import model_update
from apps.entitlements import Limit
from apps.entitlements import limit_check as plan_limit_check
from apps.organizations import events
from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.roles import Role
from apps.organizations.selectors import member_count, open_invitation_count
from apps.organizations.services._common import _lock_organization, _require
from apps.organizations.services.memberships import membership_create


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
            current=lambda: member_count(organization=organization) + open_invitation_count(organization=organization),
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
        # The event's outbox handler emails the invitation (apps.organizations.events).
        record_and_publish(
            action="invitation.created",
            resource_type="invitation",
            resource_id=invitation.pk,
            organization=organization,
            new_values=_invitation_values(invitation),
            actor=actor,
            event_type=events.INVITATION_CREATED,
            payload={"invitation_id": str(invitation.pk), "email": email, "role": role},
        )
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
        # The event's outbox handler emails the new link.
        record_and_publish(
            action="invitation.resent",
            resource_type="invitation",
            resource_id=locked.pk,
            organization=locked.organization_id,
            old_values=changes.old,
            new_values=changes.new,
            actor=actor,
            event_type=events.INVITATION_RESENT,
            payload={"invitation_id": str(locked.pk), "email": locked.email, "role": locked.role},
        )
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
