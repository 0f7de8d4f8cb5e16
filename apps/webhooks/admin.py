"""Webhook screens for staff: read-only rows; enabling, disabling, pinging and replaying go through the services."""

from django.contrib import admin

from apps.organizations.admin_tenancy import TenantAdmin
from apps.webhooks import services
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantAdmin):
    list_display = ("url", "organization", "is_active", "consecutive_failures", "disabled_reason", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description", "organization__name")
    list_select_related = ("organization",)
    ordering = ("-created_at",)
    # The secret never shows in the admin.
    exclude = ("secret", "previous_secret")
    readonly_fields = (
        "id",
        "organization",
        "url",
        "description",
        "event_types",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "disabled_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )
    actions = ("enable", "disable", "send_ping")

    def has_add_permission(self, request):
        return False

    @admin.action(description="Enable selected endpoints (clears the failure streak)")
    def enable(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda endpoint: services.webhook_endpoint_update(
                actor=request.user, endpoint=endpoint, data={"is_active": True}
            ),
            "{count} endpoint(s) enabled.",
        )

    @admin.action(description="Disable selected endpoints (owners are emailed)")
    def disable(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda endpoint: services.webhook_endpoint_disable(
                actor=request.user, endpoint=endpoint, reason="Disabled by Olympus staff."
            ),
            "{count} endpoint(s) disabled.",
        )

    @admin.action(description="Send a ping delivery")
    def send_ping(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda endpoint: services.webhook_ping(actor=request.user, endpoint=endpoint),
            "{count} ping(s) queued.",
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("created_at", "state", "status_code", "latency_ms", "succeeded", "error", "response_body")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantAdmin):
    list_display = ("event_type", "endpoint", "organization", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("id", "event_id", "event_type", "endpoint__url")
    list_select_related = ("endpoint", "organization")
    ordering = ("-created_at",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ("replay",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay selected deliveries (finished ones; same webhook-id)")
    def replay(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda delivery: services.webhook_delivery_replay(actor=request.user, delivery=delivery),
            "{count} deliver(ies) queued again.",
        )
