"""Create, update, soft-delete and restore an organization."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.audit.services import record_and_publish
from apps.core.exceptions import Conflict
from apps.core.services import model_update
from apps.organizations import events
from apps.organizations.models import DEFAULT_SETTINGS, Organization
from apps.organizations.roles import Role
from apps.organizations.services._common import _lock_organization, _require
from apps.organizations.services.grants import role_groups_ensure
from apps.organizations.services.memberships import membership_create

ORGANIZATION_AUDIT_FIELDS = ("name", "slug", "logo_url", "settings", "billing_email", "status", "deleted_at")
ORGANIZATION_EDITABLE_FIELDS = ("name", "slug", "logo_url", "settings", "billing_email")
BILLING_FIELDS = frozenset({"billing_email"})


def _snapshot(instance: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in fields}


def _unique_slug(base: str, *, exclude_pk: uuid.UUID | None = None) -> str:
    base = (slugify(base)[:70].strip("-")) or "organization"
    similar = Organization.objects.filter(deleted_at__isnull=True, slug__startswith=base)
    if exclude_pk is not None:
        similar = similar.exclude(pk=exclude_pk)
    taken = set(similar.values_list("slug", flat=True))
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def _ensure_slug_free(slug: str, *, exclude_pk: uuid.UUID | None = None) -> None:
    holders = Organization.objects.filter(deleted_at__isnull=True, slug=slug)
    if exclude_pk is not None:
        holders = holders.exclude(pk=exclude_pk)
    if holders.exists():
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
