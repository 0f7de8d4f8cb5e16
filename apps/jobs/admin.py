from django.contrib import admin, messages

from apps.core.admin import SuperuserOnlyAdmin
from apps.jobs import services
from apps.jobs.models import FailedTask, WeeklySummary
from apps.organizations.admin_tenancy import TenantAdmin


@admin.register(FailedTask)
class FailedTaskAdmin(SuperuserOnlyAdmin):
    """Dead letters of Celery tasks: read them, then "retry" sends the task again with its arguments."""

    list_display = ("task_name", "status", "attempts", "queue", "exception_line", "first_failed_at", "last_failed_at")
    list_filter = ("status", "task_name", "queue")
    search_fields = ("task_id", "task_name", "exception")
    readonly_fields = [f.name for f in FailedTask._meta.fields]
    ordering = ("-last_failed_at",)
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="exception")
    def exception_line(self, obj: FailedTask) -> str:
        return obj.exception.splitlines()[0][:120] if obj.exception else ""

    @admin.action(description="Retry selected tasks (send them again with the same arguments)")
    def retry(self, request, queryset):
        count = services.failed_task_retry(failed_task_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} task(s) sent again.", messages.SUCCESS)


@admin.register(WeeklySummary)
class WeeklySummaryAdmin(TenantAdmin):
    list_display = ("organization", "week_start", "sent_at", "recipients")
    list_select_related = ("organization",)
    list_filter = ("week_start",)
    readonly_fields = [f.name for f in WeeklySummary._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
