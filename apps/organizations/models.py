"""Tenants: organizations, their members and invitations, and the guardian grant tables.

A member's role is granted as django-guardian object permissions on the
Organization through one auth Group per (organization, role)
(:class:`OrganizationRoleGroup`); extra per-member grants are user-object
permissions on the same organization. The two direct permission models below
give guardian real foreign keys instead of its generic ``object_pk`` text
column.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.core.models import BaseModel
from apps.organizations.roles import CUSTOM_PERMISSIONS, Role

DEFAULT_SETTINGS: dict[str, object] = {
    "currency": "USD",
    "tax_rate_bps": 0,
    "flat_shipping_cents": 0,
    "timezone": "UTC",
}


def validate_organization_settings(value: object) -> None:
    """``settings`` holds known keys with sane values: ISO currency, basis points, cents, IANA zone."""
    if not isinstance(value, dict):
        raise ValidationError("Settings must be an object.")
    errors: dict[str, str] = {}
    unknown = sorted(set(value) - set(DEFAULT_SETTINGS))
    if unknown:
        errors["unknown"] = f"Unknown setting(s): {', '.join(unknown)}."
    currency = value.get("currency", "USD")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        errors["currency"] = "An ISO 4217 code in capitals, e.g. USD."
    for key, upper in (("tax_rate_bps", 10_000), ("flat_shipping_cents", 10_000_000)):
        amount = value.get(key, 0)
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= upper:
            errors[key] = f"A whole number from 0 to {upper}."
    zone = value.get("timezone", "UTC")
    if not isinstance(zone, str) or zone not in _timezones():
        errors["timezone"] = "An IANA time zone name, e.g. Europe/Paris."
    if errors:
        raise ValidationError({"settings": [f"{key}: {message}" for key, message in errors.items()]})


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


class Organization(BaseModel):
    """A tenant. Soft-deleted rows keep their memberships but vanish from every selector."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    logo_url = models.URLField(max_length=500, blank=True)
    # currency, tax_rate_bps, flat_shipping_cents, timezone (see services.DEFAULT_SETTINGS)
    settings = models.JSONField(default=dict, blank=True)
    # Set by the billing plan, read-only through the API.
    features = models.JSONField(default=dict, blank=True)
    limits = models.JSONField(default=dict, blank=True)
    billing_email = models.EmailField(blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = list(CUSTOM_PERMISSIONS.items())
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=models.Q(deleted_at__isnull=True), name="organizations_slug_unique_alive"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]), name="organizations_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        validate_organization_settings(self.settings)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Membership(BaseModel):
    """A user's place in an organization: one role plus optional extra permission codenames."""

    Role = Role

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    permissions = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="organizations_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="organizations_membership_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["user", "organization"], name="org_membership_user_idx")]

    def __str__(self) -> str:
        # "ada@example.com in Acme as Admin": callers that list many select_related user and organization
        return f"{self.user} in {self.organization} as {self.get_role_display()}"


class Invitation(BaseModel):
    """An emailed, single-use invitation. Only the SHA-256 of the token is stored."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    Role = Role

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one open invitation per address and organization.
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="organizations_invitation_open_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="organizations_invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="organizations_invitation_accepted_xor_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization_id} ({self.role})"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING


class OrganizationRoleGroup(models.Model):
    """The auth Group that carries one role's object permissions on one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="role_groups")
    role = models.CharField(max_length=16, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="organization_role")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "role"], name="organizations_role_group_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}:{self.role}"


class OrganizationUserObjectPermission(UserObjectPermissionBase):
    """Guardian user grants on an organization (a member's extra permissions)."""

    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    """Guardian group grants on an organization (the role groups' permissions)."""

    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
