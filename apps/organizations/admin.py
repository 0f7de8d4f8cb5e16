"""Staff screens. Edits and actions go through the services (audit + outbox included)."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import Count

from apps.organizations import services
from apps.organizations.admin_tenancy import TenantAdmin
from apps.organizations.models import Invitation, Membership, Organization


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Alive"), ("yes", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organization"
    fields = ("user", "role", "permissions", "invited_by", "accepted_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "invited_by")


@admin.register(Organization)
class OrganizationAdmin(TenantAdmin):
    organization_path = ""
    list_display = ("name", "slug", "status", "members", "created_at", "deleted_at")
    list_filter = ("status", DeletedFilter)
    search_fields = ("name", "slug", "billing_email", "stripe_customer_id", "id")
    fields = (
        "id",
        "name",
        "slug",
        "logo_url",
        "settings",
        "billing_email",
        "features",
        "limits",
        "status",
        "stripe_customer_id",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    readonly_fields = (
        "id",
        "features",
        "limits",
        "status",
        "stripe_customer_id",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    inlines = [MembershipInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["soft_delete", "restore"]
    ordering = ("name",)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(ordering="member_count")
    def members(self, obj: Organization) -> int:
        return obj.member_count

    def has_add_permission(self, request):
        return False  # an organization is born with an owner: through the API

    def has_delete_permission(self, request, obj=None):
        return False  # soft delete only, through the action

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name] for name in form.changed_data if name in services.ORGANIZATION_EDITABLE_FIELDS
        }
        services.organization_update(actor=request.user, organization=obj, data=data)

    @admin.action(description="Soft-delete selected organizations")
    def soft_delete(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda org: services.organization_delete(actor=request.user, organization=org),
            "{count} deleted.",
        )

    @admin.action(description="Restore selected organizations")
    def restore(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda org: services.organization_restore(actor=request.user, organization=org),
            "{count} restored.",
        )


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ("user", "organization", "role", "accepted_at", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__name", "organization__slug")
    list_select_related = ("user", "organization")
    readonly_fields = (
        "organization",
        "user",
        "role",
        "permissions",
        "invited_by",
        "invited_at",
        "accepted_at",
        "created_at",
    )
    fields = readonly_fields
    actions = ["remove"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Remove selected members (keeps the last owner)")
    def remove(self, request, queryset):
        self.run_service(
            request,
            queryset.select_related("organization", "user"),
            lambda m: services.membership_remove(actor=request.user, membership=m),
            "{count} removed.",
        )


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    list_display = ("email", "organization", "role", "status", "expires_at", "sent_at", "created_at")
    list_filter = ("role",)
    search_fields = ("email", "organization__name", "organization__slug")
    list_select_related = ("organization",)
    readonly_fields = (
        "organization",
        "email",
        "role",
        "status",
        "expires_at",
        "sent_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
        "invited_by",
        "created_at",
    )
    fields = readonly_fields
    actions = ["revoke", "resend"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda inv: services.invitation_revoke(actor=request.user, invitation=inv),
            "{count} revoked.",
        )

    @admin.action(description="Resend selected invitations (new link, new 7-day expiry)")
    def resend(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda inv: services.invitation_resend(actor=request.user, invitation=inv),
            "{count} resent.",
        )
