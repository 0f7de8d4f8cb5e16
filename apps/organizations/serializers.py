"""Input and output serializers, kept apart; no business rules here."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.roles import ALL_PERMISSIONS, Role

PERMISSION_CHOICES = sorted(ALL_PERMISSIONS)


class OrganizationSettingsSerializer(serializers.Serializer):
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="ISO 4217, e.g. USD.")
    tax_rate_bps = serializers.IntegerField(min_value=0, max_value=10_000, required=False, help_text="Basis points.")
    flat_shipping_cents = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    timezone = serializers.CharField(max_length=64, required=False, help_text="IANA name, e.g. Europe/Paris.")


class OrganizationCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=80, required=False, help_text="Derived from the name when omitted.")
    logo_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    settings = OrganizationSettingsSerializer(required=False)
    billing_email = serializers.EmailField(required=False, allow_blank=True)


class OrganizationUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    slug = serializers.SlugField(max_length=80, required=False)
    logo_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    settings = OrganizationSettingsSerializer(required=False, help_text="Merged key by key into the current settings.")
    billing_email = serializers.EmailField(required=False, allow_blank=True, help_text="Owners only.")


class OrganizationOutputSerializer(serializers.ModelSerializer):
    """``role`` and ``permissions`` are the requester's; billing fields only for those who may view billing."""

    role = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()
    billing_email = serializers.EmailField(required=False, help_text="Present only with view_billing.")

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "logo_url",
            "settings",
            "features",
            "limits",
            "status",
            "billing_email",
            "role",
            "permissions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _perms(self, organization: Organization) -> frozenset[str]:
        return self.context["permissions_for"](organization)

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices, allow_null=True))
    def get_role(self, organization: Organization) -> str | None:
        return getattr(organization, "my_role", None)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=PERMISSION_CHOICES)))
    def get_permissions(self, organization: Organization) -> list[str]:
        return sorted(self._perms(organization))

    def to_representation(self, instance: Organization) -> dict[str, Any]:
        data = super().to_representation(instance)
        if "view_billing" not in self._perms(instance):
            data.pop("billing_email", None)
        return data


class MembershipOutputSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    invited_by_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "user_id",
            "email",
            "full_name",
            "role",
            "permissions",
            "invited_by_id",
            "invited_at",
            "accepted_at",
            "created_at",
        ]
        read_only_fields = fields


class MembershipUpdateInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=PERMISSION_CHOICES),
        required=False,
        help_text="Extra permission codenames on top of the role (replaces the current list).",
    )


class InvitationCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class InvitationOutputSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "expires_at",
            "sent_at",
            "accepted_at",
            "revoked_at",
            "invited_by_id",
            "created_at",
        ]
        read_only_fields = fields


class InvitationAcceptInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, trim_whitespace=True)


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class InvitationAcceptOutputSerializer(serializers.Serializer):
    organization = OrganizationSummarySerializer(read_only=True)
    membership = MembershipOutputSerializer(read_only=True)
