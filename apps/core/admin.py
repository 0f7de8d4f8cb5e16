from django.contrib import admin, messages

from apps.core import events
from apps.core.models import OutboxEvent


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Platform rows that mix every tenant's data (events, dead letters): superusers only."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(OutboxEvent)
class OutboxEventAdmin(SuperuserOnlyAdmin):
    list_display = ("event_type", "status", "attempts", "organization_id", "created_at", "next_attempt_at")
    list_filter = ("status", "event_type")
    search_fields = ("id", "event_type", "organization_id")
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    ordering = ("-created_at",)
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay selected events (dead letters and stuck ones)")
    def replay(self, request, queryset):
        count = events.outbox_replay(event_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} event(s) queued for replay.", messages.SUCCESS)
