from django.contrib import admin

from apps.audit.models import AuditLog
from apps.organizations.admin_tenancy import TenantAdmin


class ResourceTypeFilter(admin.SimpleListFilter):
    # Static choices: a DISTINCT over a large partitioned table on every page view would be a full scan.
    title = "resource type"
    parameter_name = "resource_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in ("organization", "membership", "invitation", "user")]

    def queryset(self, request, queryset):
        return queryset.filter(resource_type=self.value()) if self.value() else queryset


@admin.register(AuditLog)
class AuditLogAdmin(TenantAdmin):
    """Read-only: the audit log is written by services, never by hand."""

    list_display = ("created_at", "action", "resource_type", "resource_id", "actor", "organization", "ip")
    list_filter = (ResourceTypeFilter,)
    search_fields = ("=resource_id", "=request_id", "action", "actor__email")
    list_select_related = ("actor", "organization")
    ordering = ("-created_at",)
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
