from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from apps.audit.api.filters import AuditLogFilter
from apps.audit.api.serializers import AuditLogOutputSerializer
from apps.audit.models import AuditLog
from apps.audit.selectors import audit_log_list
from apps.organizations.permissions import OrganizationPermission, OrganizationScopedMixin


@extend_schema_view(
    list=extend_schema(
        summary="An organization's audit log (owner, admin)",
        description="Newest first; filter by action, resource, actor and a created_at range.",
    )
)
class AuditLogViewSet(OrganizationScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who changed what in the organization, when, from where (owners and admins)."""

    permission_classes = [OrganizationPermission]
    organization_permissions = {"list": "view_audit_logs"}
    serializer_class = AuditLogOutputSerializer
    filterset_class = AuditLogFilter
    queryset = AuditLog.objects.none()

    def get_queryset(self):
        return audit_log_list(user=self.request.user, organization=self.organization)
