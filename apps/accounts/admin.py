"""User admin: find and inspect users; status changes and session ends go through the services.

No password hash (nor a form to set a password) is shown: staff send a reset
email instead, so they never learn or choose a user's password.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern

from apps.accounts import services
from apps.accounts.models import User, UserSession
from apps.core.exceptions import ApplicationError


class UserChangeForm(forms.ModelForm):
    """Django's UserChangeForm minus its password-hash field."""

    class Meta:
        model = User
        fields = ()


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class EmailVerifiedFilter(admin.SimpleListFilter):
    title = "email verified"
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(email_verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(email_verified_at__isnull=True)
        return queryset


class UserSessionInline(admin.TabularInline):
    model = UserSession
    fields = ("created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "revoked_at", "revoked_reason")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "status", "email_verified", "is_staff", "last_login", "created_at")
    list_filter = ("status", "is_staff", EmailVerifiedFilter, "is_superuser")
    search_fields = ("email", "full_name", "display_name")
    readonly_fields = (
        "id",
        "email",
        "status",
        "is_active",
        "email_verified_at",
        "last_login",
        "last_active_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("id", "email", "status", "is_active", "email_verified_at")}),
        ("Profile", {"fields": ("full_name", "display_name", "avatar_url", "phone", "bio", "preferences")}),
        ("Permissions", {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Activity", {"fields": ("last_login", "last_active_at", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)
    inlines = [UserSessionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["suspend_users", "reactivate_users", "revoke_sessions", "send_password_reset"]

    def get_urls(self) -> list[URLPattern]:
        # Drop Django's "set password" page: staff reset passwords by email, through the service.
        return admin.ModelAdmin.get_urls(self)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: User | None):
        return self.inlines if obj is not None else []

    @admin.display(boolean=True, description="Verified", ordering="email_verified_at")
    def email_verified(self, obj: User) -> bool:
        return obj.email_verified_at is not None

    def _for_each(self, request: HttpRequest, queryset: QuerySet[User], action, done: str) -> None:
        succeeded = 0
        for user in queryset:
            try:
                action(user)
            except ApplicationError as exc:
                self.message_user(request, f"{user.email}: {exc.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{succeeded} user(s) {done}.", messages.SUCCESS)

    @admin.action(description="Suspend selected users (ends their sessions)")
    def suspend_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._for_each(
            request, queryset, lambda user: services.user_suspend(user=user, actor=request.user), "suspended"
        )

    @admin.action(description="Reactivate selected users")
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._for_each(
            request, queryset, lambda user: services.user_reactivate(user=user, actor=request.user), "reactivated"
        )

    @admin.action(description="End all sessions of selected users")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._for_each(
            request,
            queryset,
            lambda user: services.user_sessions_revoke(user=user, actor=request.user),
            "signed out everywhere",
        )

    @admin.action(description="Email a password reset link to selected users")
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._for_each(
            request, queryset, lambda user: services.password_reset_request(email=user.email), "sent a reset link"
        )
