from __future__ import annotations

from django.db.models import QuerySet

from apps.audit.models import AuditLog
from apps.organizations.models import Organization
from apps.organizations.selectors import User, scope_to_organization


def audit_log_list(*, user: User, organization: Organization) -> QuerySet[AuditLog]:
    """An organization's audit trail, newest first, with the actor joined in."""
    return scope_to_organization(
        AuditLog.objects.select_related("actor"), user=user, organization=organization
    ).order_by("-created_at")
