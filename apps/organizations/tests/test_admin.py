"""Staff screens: changelists at constant query counts, actions through the services."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditLog
from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize(
    "model", ["organization", "membership", "invitation"], ids=["organizations", "memberships", "invitations"]
)
@pytest.mark.parametrize("count", [1, 6])
def test_changelists_query_count_is_constant(staff_client, model, count, django_assert_num_queries):
    for _ in range(count):
        organization = OrganizationFactory()
        MembershipFactory(organization=organization, role="owner")
        InvitationFactory(organization=organization)

    with django_assert_num_queries(4):
        response = staff_client.get(reverse(f"admin:organizations_{model}_changelist"))

    assert response.status_code == 200


def test_organization_change_page_renders(staff_client, organization, owner):
    response = staff_client.get(reverse("admin:organizations_organization_change", args=[organization.pk]))

    assert response.status_code == 200
    assert owner.email in response.content.decode()


def test_admin_edit_goes_through_the_service_and_is_audited(staff_client, staff_user, organization, owner):
    url = reverse("admin:organizations_organization_change", args=[organization.pk])
    data = {
        "name": "Acme Renamed",
        "slug": organization.slug,
        "logo_url": "",
        "settings": '{"currency": "USD", "tax_rate_bps": 0, "flat_shipping_cents": 0, "timezone": "UTC"}',
        "billing_email": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(Membership.objects.get(user=owner).pk),
        "memberships-0-organization": str(organization.pk),
    }

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    organization.refresh_from_db()
    assert organization.name == "Acme Renamed"
    assert AuditLog.objects.get(action="organization.updated").actor_id == staff_user.pk


def test_soft_delete_and_restore_actions(staff_client, organization, owner):
    changelist = reverse("admin:organizations_organization_changelist")

    staff_client.post(changelist, {"action": "soft_delete", "_selected_action": [organization.pk]})
    organization.refresh_from_db()
    assert organization.deleted_at is not None

    staff_client.post(changelist, {"action": "restore", "_selected_action": [organization.pk]})
    organization.refresh_from_db()
    assert organization.deleted_at is None
    assert set(AuditLog.objects.values_list("action", flat=True)) >= {"organization.deleted", "organization.restored"}


def test_remove_member_action_keeps_the_last_owner(staff_client, organization, owner, member):
    changelist = reverse("admin:organizations_membership_changelist")
    ids = list(Membership.objects.filter(organization=organization).values_list("pk", flat=True))

    response = staff_client.post(changelist, {"action": "remove", "_selected_action": ids}, follow=True)

    assert list(Membership.objects.filter(organization=organization).values_list("user", flat=True)) == [owner.pk]
    assert "last owner" in response.content.decode()


def test_revoke_and_resend_invitation_actions(
    staff_client, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = InvitationFactory(organization=organization, invited_by=owner)
    changelist = reverse("admin:organizations_invitation_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(changelist, {"action": "resend", "_selected_action": [invitation.pk]})
    assert len(mailoutbox) == 1

    staff_client.post(changelist, {"action": "revoke", "_selected_action": [invitation.pk]})
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED


def test_no_hard_delete_or_add_in_admin(staff_client):
    assert staff_client.get(reverse("admin:organizations_organization_add")).status_code == 403
    assert Organization._meta.model_name == "organization"
