import pytest
from django.core.management import call_command

from apps.audit.models import AuditLog
from apps.demo.management.commands.seed_demo import ROLE_USERS, SUPPORT_EMAIL
from apps.organizations.models import Membership, Organization
from apps.organizations.roles import ROLE_PERMISSIONS
from apps.organizations.selectors import organization_permissions

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Organization.objects.values_list("id", "slug", "updated_at")),
        list(Membership.objects.order_by("id").values_list("id", "user__email", "role", "updated_at")),
        AuditLog.objects.count(),
    )


def test_demo_organization_has_one_user_per_role_and_is_idempotent():
    # when
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")

    # then running twice changes nothing
    assert snapshot() == first
    organization = Organization.objects.get(slug="demo")
    roles = dict(Membership.objects.filter(organization=organization).values_list("user__email", "role"))
    assert roles == {
        **{ROLE_USERS[role]: role for role in ("owner", "admin", "member", "viewer")},
        SUPPORT_EMAIL: "member",  # the demo staff member who is not a superuser
    }
    for membership in Membership.objects.filter(organization=organization).select_related("user"):
        assert (
            organization_permissions(user=membership.user, organization=organization)
            == ROLE_PERMISSIONS[membership.role]
        )
