"""The organizations API: shapes, rules surfacing as statuses, query counts."""

import pytest

from apps.audit.models import AuditLog
from apps.organizations.models import Membership, Organization
from apps.organizations.roles import ROLE_PERMISSIONS
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def url(organization, suffix=""):
    return f"/api/v1/organizations/{organization.pk}/{suffix}"


def membership_id(user, organization):
    return Membership.objects.get(user=user, organization=organization).pk


def test_create_organization_makes_the_caller_owner(api_client_for, user):
    response = api_client_for(user).post(
        "/api/v1/organizations/", {"name": "Night Owls", "settings": {"currency": "EUR", "timezone": "Europe/Paris"}}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "night-owls"
    assert body["role"] == "owner"
    assert set(body["permissions"]) == ROLE_PERMISSIONS["owner"]
    assert body["settings"]["currency"] == "EUR"
    assert body["settings"]["tax_rate_bps"] == 0
    assert Membership.objects.get(organization_id=body["id"]).user == user


def test_create_with_bad_settings_is_a_400_envelope(api_client_for, user):
    response = api_client_for(user).post("/api/v1/organizations/", {"name": "X", "settings": {"timezone": "Mars/Base"}})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Organization.objects.exists()


def test_list_shows_only_my_organizations(api_client_for, organization, member, other_organization, outsider):
    response = api_client_for(member).get("/api/v1/organizations/")

    assert [row["id"] for row in response.json()["results"]] == [str(organization.pk)]
    assert response.json()["results"][0]["role"] == "member"


def test_billing_fields_are_hidden_from_roles_without_billing(api_client_for, organization, owner, member):
    organization.billing_email = "billing@acme.test"
    organization.save()

    assert api_client_for(owner).get(url(organization)).json()["billing_email"] == "billing@acme.test"
    assert "billing_email" not in api_client_for(member).get(url(organization)).json()


def test_admin_patch_of_billing_email_is_403(api_client_for, organization, admin):
    response = api_client_for(admin).patch(url(organization), {"billing_email": "x@example.com"})

    assert response.status_code == 403


def test_delete_is_a_soft_delete(api_client_for, organization, owner):
    assert api_client_for(owner).delete(url(organization)).status_code == 204

    organization.refresh_from_db()
    assert organization.deleted_at is not None
    assert api_client_for(owner).get(url(organization)).status_code == 404
    assert api_client_for(owner).get("/api/v1/organizations/").json()["results"] == []


def test_members_list_has_email_name_and_role(api_client_for, organization, owner, viewer):
    response = api_client_for(viewer).get(url(organization, "members/"))

    rows = {row["email"]: row for row in response.json()["results"]}
    assert rows[owner.email]["role"] == "owner"
    assert rows[owner.email]["full_name"] == owner.full_name
    assert rows[viewer.email]["role"] == "viewer"


def test_role_change_takes_effect_on_the_next_request(api_client_for, organization, owner, member):
    member_client = api_client_for(member)
    assert member_client.patch(url(organization), {"name": "Nope"}).status_code == 403

    # when the owner promotes the member
    promoted = api_client_for(owner).patch(
        url(organization, f"members/{membership_id(member, organization)}/"), {"role": "admin"}
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"

    # then the member's very next request (same token) may change the organization
    assert member_client.patch(url(organization), {"name": "Yes"}).status_code == 200

    # and a demotion is just as immediate
    api_client_for(owner).patch(
        url(organization, f"members/{membership_id(member, organization)}/"), {"role": "viewer"}
    )
    assert member_client.patch(url(organization), {"name": "Again"}).status_code == 403


def test_removed_member_gets_404_on_the_next_request(api_client_for, organization, admin, member):
    member_client = api_client_for(member)
    assert member_client.get(url(organization)).status_code == 200

    assert (
        api_client_for(admin).delete(url(organization, f"members/{membership_id(member, organization)}/")).status_code
        == 204
    )

    assert member_client.get(url(organization)).status_code == 404


def test_extra_permission_via_api(api_client_for, organization, owner, viewer):
    response = api_client_for(owner).patch(
        url(organization, f"members/{membership_id(viewer, organization)}/"), {"permissions": ["view_audit_logs"]}
    )

    assert response.status_code == 200
    assert response.json()["permissions"] == ["view_audit_logs"]
    assert api_client_for(viewer).get(url(organization, "audit-logs/")).status_code == 200


@pytest.mark.parametrize(
    ("actor", "change", "expected"),
    [
        ("admin", {"role": "owner"}, 403),  # only an owner makes owners
        ("owner", {"role": "admin"}, 409),  # the last owner cannot be demoted
    ],
)
def test_owner_rules_surface_as_statuses(api_client_for, organization, owner, admin, member, actor, change, expected):
    users = {"owner": owner, "admin": admin}
    target = member if change["role"] == "owner" else owner

    response = api_client_for(users[actor]).patch(
        url(organization, f"members/{membership_id(target, organization)}/"), change
    )

    assert response.status_code == expected, response.content


def test_admin_cannot_remove_an_owner(api_client_for, organization, owner, admin):
    response = api_client_for(admin).delete(url(organization, f"members/{membership_id(owner, organization)}/"))

    assert response.status_code == 403
    assert Membership.objects.filter(user=owner).exists()


def test_last_owner_cannot_remove_themselves(api_client_for, organization, owner):
    response = api_client_for(owner).delete(url(organization, f"members/{membership_id(owner, organization)}/"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"


def test_last_owner_leave_is_409(api_client_for, organization, owner):
    response = api_client_for(owner).post(url(organization, "leave/"))

    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "last_owner"


def test_unknown_role_is_a_400(api_client_for, organization, owner, member):
    response = api_client_for(owner).patch(
        url(organization, f"members/{membership_id(member, organization)}/"), {"role": "god"}
    )

    assert response.status_code == 400


def test_malformed_organization_id_is_a_404_envelope(api_client_for, user):
    response = api_client_for(user).get("/api/v1/organizations/not-a-uuid/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_api_changes_are_audited_with_request_context(api_client_for, organization, admin):
    response = api_client_for(admin).patch(
        url(organization), {"name": "Audited"}, HTTP_USER_AGENT="pytest-agent/1.0", HTTP_X_REQUEST_ID="a" * 32
    )

    entry = AuditLog.objects.get(action="organization.updated")
    assert entry.actor_id == admin.pk
    assert entry.organization_id == organization.pk
    assert entry.user_agent == "pytest-agent/1.0"
    assert entry.ip == "127.0.0.1"
    assert entry.request_id == response["X-Request-ID"] == "a" * 32
    assert entry.old_values == {"name": "Acme"}
    assert entry.new_values == {"name": "Audited"}


# --- query counts: constant whatever the number of rows ----------------------------------------


@pytest.mark.parametrize("count", [1, 8])
def test_organization_list_query_count_is_constant(api_client_for, user, count, django_assert_num_queries):
    for _ in range(count):
        MembershipFactory(user=user, organization=OrganizationFactory(), role="admin")
    client = api_client_for(user)

    with django_assert_num_queries(4):
        response = client.get("/api/v1/organizations/")

    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [1, 8])
def test_members_list_query_count_is_constant(api_client_for, organization, owner, count, django_assert_num_queries):
    for _ in range(count):
        MembershipFactory(organization=organization, role="viewer")
    client = api_client_for(owner)

    with django_assert_num_queries(5):
        response = client.get(url(organization, "members/"))

    assert len(response.json()["results"]) == count + 1


@pytest.mark.parametrize("count", [1, 8])
def test_invitations_list_query_count_is_constant(
    api_client_for, organization, owner, count, django_assert_num_queries
):
    for _ in range(count):
        InvitationFactory(organization=organization, invited_by=owner)
    client = api_client_for(owner)

    with django_assert_num_queries(5):
        response = client.get(url(organization, "invitations/"))

    assert len(response.json()["results"]) == count
