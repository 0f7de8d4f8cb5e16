"""Invitations: emailed, single-use, unexpired, bound to the invited email."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.audit.models import AuditLog
from apps.core.exceptions import Conflict, NotFound, PermissionDenied
from apps.organizations import selectors, services
from apps.organizations.models import Invitation, Membership
from apps.organizations.roles import ROLE_PERMISSIONS, Role
from apps.organizations.tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'"token": "([^"]+)"')


def token_from(message) -> str:
    return TOKEN.search(message.body).group(1)


def invite(django_capture_on_commit_callbacks, *, actor, organization, email, role=Role.MEMBER):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(actor=actor, organization=organization, email=email, role=role)
    return invitation, token_from(mail.outbox[-1])


def test_invitation_email_is_sent_after_commit_with_a_link(organization, admin, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invitation = services.invitation_create(
            actor=admin, organization=organization, email="New.Person@Example.com", role=Role.VIEWER
        )

    # then
    assert len(callbacks) >= 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert organization.name in message.subject
    token = token_from(message)
    assert f"token={token}" in message.body
    html = message.alternatives[0][0]
    assert f"token={token}" in html
    invitation.refresh_from_db()
    assert invitation.email == "new.person@example.com"
    assert invitation.token_hash == services.hash_token(token)
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)


def test_no_email_when_the_transaction_rolls_back(organization, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.invitation_create(actor=admin, organization=organization, email="x@example.com", role=Role.MEMBER)

    assert mail.outbox == []


def test_invited_user_accepts_and_gets_the_role(organization, admin, django_capture_on_commit_callbacks):
    # given
    invitee = UserFactory(email="joiner@example.com")
    invitation, token = invite(
        django_capture_on_commit_callbacks, actor=admin, organization=organization, email="Joiner@example.com"
    )

    # when
    membership = services.invitation_accept(user=invitee, token=token)

    # then
    assert membership.role == Role.MEMBER
    assert membership.invited_by == admin
    assert membership.invited_at == invitation.created_at
    assert selectors.organization_permissions(user=invitee, organization=organization) == ROLE_PERMISSIONS["member"]
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_by == invitee
    assert AuditLog.objects.filter(action="invitation.accepted", actor=invitee).exists()


def test_invitation_is_accepted_only_once(organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="once@example.com")
    _, token = invite(django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email)
    services.invitation_accept(user=invitee, token=token)
    services.membership_leave(actor=invitee, organization=organization)

    with pytest.raises(Conflict) as excinfo:
        services.invitation_accept(user=invitee, token=token)

    assert excinfo.value.details["reason"] == "already_accepted"


def test_expired_invitation_cannot_be_accepted(organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="late@example.com")
    invitation, token = invite(
        django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(Conflict) as excinfo:
        services.invitation_accept(user=invitee, token=token)

    assert excinfo.value.details["reason"] == "expired"
    assert not Membership.objects.filter(user=invitee).exists()


def test_only_the_invited_email_can_accept(organization, admin, django_capture_on_commit_callbacks):
    _, token = invite(django_capture_on_commit_callbacks, actor=admin, organization=organization, email="a@example.com")
    intruder = UserFactory(email="b@example.com")

    with pytest.raises(PermissionDenied):
        services.invitation_accept(user=intruder, token=token)

    assert not Membership.objects.filter(user=intruder).exists()


def test_revoked_invitation_cannot_be_accepted(organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="revoked@example.com")
    invitation, token = invite(
        django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email
    )
    services.invitation_revoke(actor=admin, invitation=invitation)

    with pytest.raises(Conflict) as excinfo:
        services.invitation_accept(user=invitee, token=token)

    assert excinfo.value.details["reason"] == "revoked"


def test_unknown_token_is_not_found(user):
    with pytest.raises(NotFound):
        services.invitation_accept(user=user, token="nope")


def test_invitation_of_a_deleted_organization_is_not_found(organization, owner, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="gone@example.com")
    _, token = invite(django_capture_on_commit_callbacks, actor=owner, organization=organization, email=invitee.email)
    services.organization_delete(actor=owner, organization=organization)

    with pytest.raises(NotFound):
        services.invitation_accept(user=invitee, token=token)


def test_inviting_an_existing_member_is_a_conflict(organization, admin, member):
    with pytest.raises(Conflict) as excinfo:
        services.invitation_create(actor=admin, organization=organization, email=member.email.upper(), role="viewer")

    assert excinfo.value.details["reason"] == "already_member"


def test_inviting_an_address_with_a_pending_invitation_is_a_conflict(organization, admin):
    services.invitation_create(actor=admin, organization=organization, email="twice@example.com", role="viewer")

    with pytest.raises(Conflict) as excinfo:
        services.invitation_create(actor=admin, organization=organization, email="TWICE@example.com", role="member")

    assert excinfo.value.details["reason"] == "already_invited"


def test_an_expired_invitation_is_superseded_by_a_new_one(organization, admin):
    old = InvitationFactory(
        organization=organization, email="again@example.com", expires_at=timezone.now() - timedelta(days=1)
    )

    new = services.invitation_create(actor=admin, organization=organization, email="again@example.com", role="viewer")

    old.refresh_from_db()
    assert old.revoked_at is not None
    assert new.status == Invitation.Status.PENDING


def test_only_an_owner_invites_an_owner(organization, owner, admin):
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=admin, organization=organization, email="boss@example.com", role="owner")

    invitation = services.invitation_create(
        actor=owner, organization=organization, email="boss@example.com", role="owner"
    )
    assert invitation.role == Role.OWNER


def test_accepting_while_already_a_member_is_a_conflict(organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="dup@example.com")
    _, token = invite(django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email)
    services.membership_create(organization=organization, user=invitee, role=Role.VIEWER)

    with pytest.raises(Conflict) as excinfo:
        services.invitation_accept(user=invitee, token=token)

    assert excinfo.value.details["reason"] == "already_member"


def test_resend_issues_a_new_token_and_kills_the_old_link(organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="resend@example.com")
    invitation, first = invite(
        django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(actor=admin, invitation=invitation)
    second = token_from(mail.outbox[-1])

    assert first != second
    with pytest.raises(NotFound):
        services.invitation_accept(user=invitee, token=first)
    assert services.invitation_accept(user=invitee, token=second).role == Role.MEMBER


def test_sending_a_revoked_invitation_does_nothing(organization, admin):
    invitation = InvitationFactory(organization=organization, invited_by=admin)
    services.invitation_revoke(actor=admin, invitation=invitation)

    assert services.invitation_send(invitation_id=invitation.pk) is None
    assert mail.outbox == []


def test_revoking_an_accepted_invitation_is_a_conflict(organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="done@example.com")
    invitation, token = invite(
        django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email
    )
    services.invitation_accept(user=invitee, token=token)

    with pytest.raises(Conflict):
        services.invitation_revoke(actor=admin, invitation=invitation)


# --- API ------------------------------------------------------------------------------------


def test_api_invite_list_revoke(api_client_for, organization, admin, django_capture_on_commit_callbacks):
    client = api_client_for(admin)
    base = f"/api/v1/organizations/{organization.pk}/invitations/"

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(base, {"email": "api@example.com", "role": "viewer"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending"
    assert "token" not in body
    assert "token_hash" not in body
    assert len(mail.outbox) == 1

    listed = client.get(base, {"status": "pending"})
    assert [row["email"] for row in listed.json()["results"]] == ["api@example.com"]

    assert client.delete(f"{base}{body['id']}/").status_code == 204
    assert client.get(base, {"status": "pending"}).json()["results"] == []
    assert client.get(base, {"status": "revoked"}).json()["results"][0]["id"] == body["id"]


def test_api_invite_existing_member_is_409(api_client_for, organization, admin, member):
    response = api_client_for(admin).post(
        f"/api/v1/organizations/{organization.pk}/invitations/", {"email": member.email, "role": "viewer"}
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"


def test_api_accept(api_client_for, organization, admin, django_capture_on_commit_callbacks):
    invitee = UserFactory(email="accept@example.com")
    _, token = invite(django_capture_on_commit_callbacks, actor=admin, organization=organization, email=invitee.email)

    response = api_client_for(invitee).post("/api/v1/invitations/accept/", {"token": token})
    assert response.status_code == 201, response.content
    assert response.json()["organization"]["id"] == str(organization.pk)
    assert response.json()["membership"]["role"] == "member"

    again = api_client_for(invitee).post("/api/v1/invitations/accept/", {"token": token})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["reason"] == "already_accepted"


def test_api_accept_by_another_user_is_403(api_client_for, organization, admin, django_capture_on_commit_callbacks):
    _, token = invite(django_capture_on_commit_callbacks, actor=admin, organization=organization, email="z@example.com")

    response = api_client_for(UserFactory()).post("/api/v1/invitations/accept/", {"token": token})

    assert response.status_code == 403


def test_api_accept_requires_login(api_client):
    assert api_client.post("/api/v1/invitations/accept/", {"token": "x"}).status_code == 401
