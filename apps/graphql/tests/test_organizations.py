"""Organizations over GraphQL: the organizations selectors, services and permissions, REST's codes."""

from __future__ import annotations

import pytest

from apps.organizations.models import Invitation, Membership, Organization

pytestmark = pytest.mark.django_db

ORGANIZATIONS = "{ organizations { id slug role permissions billingEmail members { userId email fullName role } } }"
ORGANIZATION = """
query($id: UUID, $slug: String) {
  organization(id: $id, slug: $slug) { id name slug role settings members { email role } }
}"""
CREATE = """
mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { id name slug role permissions settings }
}"""
UPDATE = """
mutation($id: UUID!, $input: UpdateOrganizationInput!) {
  updateOrganization(id: $id, input: $input) { id name slug settings billingEmail }
}"""
INVITE = """
mutation($organizationId: UUID!, $email: String!, $role: Role) {
  inviteMember(organizationId: $organizationId, email: $email, role: $role) { id email role status invitedById }
}"""


def test_organizations_lists_mine_with_role_permissions_and_members(gql, organization, owner, member, outsider):
    result = gql(ORGANIZATIONS, user=member)

    assert result.errors == []
    [acme] = result.data["organizations"]
    assert acme["slug"] == "acme"
    assert acme["role"] == "MEMBER"
    assert "add_products" in acme["permissions"]
    assert "delete_organization" not in acme["permissions"]
    assert {m["email"]: m["role"] for m in acme["members"]} == {owner.email: "OWNER", member.email: "MEMBER"}


def test_billing_email_is_only_for_those_who_may_view_billing(gql, organization, owner, member):
    Organization.objects.filter(pk=organization.pk).update(billing_email="billing@acme.test")

    assert gql(ORGANIZATIONS, user=owner).data["organizations"][0]["billingEmail"] == "billing@acme.test"
    assert gql(ORGANIZATIONS, user=member).data["organizations"][0]["billingEmail"] is None


def test_organizations_needs_a_signed_in_user(gql):
    assert gql(ORGANIZATIONS).codes == ["UNAUTHORIZED"]


@pytest.mark.parametrize("by", ["id", "slug"])
def test_organization_by_id_or_slug(gql, organization, viewer, by):
    variables = {"id": str(organization.pk)} if by == "id" else {"slug": "acme"}

    result = gql(ORGANIZATION, variables, user=viewer)

    assert result.errors == []
    assert result.data["organization"]["id"] == str(organization.pk)
    assert result.data["organization"]["role"] == "VIEWER"


@pytest.mark.parametrize("by", ["id", "slug"])
def test_another_tenants_organization_is_not_found(gql, organization, outsider, by):
    variables = {"id": str(organization.pk)} if by == "id" else {"slug": "acme"}

    result = gql(ORGANIZATION, variables, user=outsider)

    assert result.codes == ["NOT_FOUND"]
    assert result.error["message"] == "Organization not found."


def test_organization_wants_exactly_one_of_id_and_slug(gql, organization, owner):
    assert gql(ORGANIZATION, {}, user=owner).codes == ["VALIDATION_ERROR"]


def test_create_organization_makes_the_caller_its_owner(gql, user):
    result = gql(CREATE, {"input": {"name": "Initech", "settings": {"currency": "EUR"}}}, user=user)

    assert result.errors == []
    created = result.data["createOrganization"]
    assert created["slug"] == "initech"
    assert created["role"] == "OWNER"
    assert "delete_organization" in created["permissions"]
    assert created["settings"]["currency"] == "EUR"
    assert Membership.objects.get(organization_id=created["id"], user=user).role == "owner"


def test_create_organization_validates_like_rest(gql, user):
    result = gql(CREATE, {"input": {"name": "X", "logoUrl": "not a url", "settings": {"currency": "euro"}}}, user=user)

    assert result.codes == ["VALIDATION_ERROR"]
    details = result.error["extensions"]["details"]
    assert set(details) == {"logoUrl", "settings"}


def test_create_organization_with_a_taken_slug_conflicts(gql, organization, user):
    assert gql(CREATE, {"input": {"name": "Other", "slug": "acme"}}, user=user).codes == ["CONFLICT"]


def test_admin_updates_the_organization(gql, organization, admin):
    result = gql(UPDATE, {"id": str(organization.pk), "input": {"name": "Acme Corp", "settings": {"taxRateBps": 0}}})
    assert result.codes == ["UNAUTHORIZED"]

    changes = {"name": "Acme Corp", "settings": {"taxRateBps": 750}}
    result = gql(UPDATE, {"id": str(organization.pk), "input": changes}, user=admin)

    assert result.errors == []
    assert result.data["updateOrganization"]["name"] == "Acme Corp"
    assert result.data["updateOrganization"]["settings"]["tax_rate_bps"] == 750
    organization.refresh_from_db()
    assert organization.name == "Acme Corp"


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_may_not_update_the_organization(gql, organization, request, role):
    result = gql(UPDATE, {"id": str(organization.pk), "input": {"name": "Hacked"}}, user=request.getfixturevalue(role))

    assert result.codes == ["FORBIDDEN"]


def test_only_owners_change_the_billing_email(gql, organization, owner, admin):
    variables = {"id": str(organization.pk), "input": {"billingEmail": "pay@acme.test"}}

    assert gql(UPDATE, variables, user=admin).codes == ["FORBIDDEN"]
    assert gql(UPDATE, variables, user=owner).data["updateOrganization"]["billingEmail"] == "pay@acme.test"


def test_outsider_cannot_update_another_tenant(gql, organization, outsider):
    result = gql(UPDATE, {"id": str(organization.pk), "input": {"name": "Mine"}}, user=outsider)

    assert result.codes == ["NOT_FOUND"]


def test_admin_invites_a_member(gql, organization, admin, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        result = gql(INVITE, {"organizationId": str(organization.pk), "email": "Newbie@Example.com"}, user=admin)

    assert result.errors == []
    invitation = result.data["inviteMember"]
    assert invitation == {
        "id": invitation["id"],
        "email": "newbie@example.com",
        "role": "MEMBER",
        "status": "pending",
        "invitedById": str(admin.pk),
    }
    assert Invitation.objects.filter(organization=organization).count() == 1
    assert len(mailoutbox) == 1


def test_only_owners_invite_owners(gql, organization, admin):
    variables = {"organizationId": str(organization.pk), "email": "boss@example.com", "role": "OWNER"}

    assert gql(INVITE, variables, user=admin).codes == ["FORBIDDEN"]


def test_members_may_not_invite(gql, organization, member):
    result = gql(INVITE, {"organizationId": str(organization.pk), "email": "x@example.com"}, user=member)

    assert result.codes == ["FORBIDDEN"]


def test_inviting_a_member_again_conflicts(gql, organization, owner, member):
    result = gql(INVITE, {"organizationId": str(organization.pk), "email": member.email}, user=owner)

    assert result.codes == ["CONFLICT"]
    assert result.error["extensions"]["details"]["reason"] == "already_member"


def test_invite_validates_the_email(gql, organization, owner):
    result = gql(INVITE, {"organizationId": str(organization.pk), "email": "nope"}, user=owner)

    assert result.codes == ["VALIDATION_ERROR"]
    assert "email" in result.error["extensions"]["details"]
