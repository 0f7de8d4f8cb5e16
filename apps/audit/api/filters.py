import django_filters

from apps.audit.models import AuditLog
from apps.core.fields import IsoDateTimeFilter


class AuditLogFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(help_text="Exact action, e.g. membership.updated.")
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith", help_text="e.g. auth.")
    resource_type = django_filters.CharFilter()
    resource_id = django_filters.CharFilter()
    actor = django_filters.UUIDFilter(field_name="actor_id", help_text="The acting user's id.")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields: list[str] = []
