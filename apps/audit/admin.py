from django.contrib import admin
from django.utils.safestring import SafeString

from apps.audit.display import changes_table
from apps.audit.models import AuditLog
from apps.organizations.admin_tenancy import TenantAdmin

# Every resource type a service records (a test greps the services for them and fails on a missing one).
RESOURCE_TYPES = (
    "category",
    "checkout_session",
    "invitation",
    "membership",
    "order",
    "organization",
    "payment",
    "plan",
    "product",
    "product_variant",
    "review",
    "subscription",
    "user",
    "webhook_delivery",
    "webhook_endpoint",
)


class ResourceTypeFilter(admin.SimpleListFilter):
    # Static choices: a DISTINCT over a large partitioned table on every page view would be a full scan.
    title = "resource type"
    parameter_name = "resource_type"

    def lookups(self, request, model_admin):
        return [(name, name.replace("_", " ")) for name in RESOURCE_TYPES]

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
    # The recorded values as a table of changed fields instead of two dicts.
    fields = readonly_fields = tuple(
        name
        for field in AuditLog._meta.fields
        for name in ((field.name, "changes") if field.name == "resource_id" else (field.name,))
        if name not in ("old_values", "new_values")
    )

    @admin.display(description="changes")
    def changes(self, entry: AuditLog) -> SafeString:
        return changes_table(entry.old_values, entry.new_values)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
