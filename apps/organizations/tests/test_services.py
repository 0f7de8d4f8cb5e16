"""Organization and membership rules, at the service layer."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError

from apps.audit.models import AuditLog
from apps.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from apps.core.models import OutboxEvent
from apps.organizations import selectors, services
from apps.organizations.models import Membership, Organization
from apps.organizations.roles import ROLE_PERMISSIONS, Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def membership(user, organization):
    return Membership.objects.get(user=user, organization=organization)


def perms(user, organization):
    return selectors.organization_permissions(user=user, organization=organization)


# --- organizations -----------------------------------------------------------------------


def test_creator_becomes_owner_with_every_owner_permission(user):
    organization = services.organization_create(actor=user, name="Blue Widgets")

    assert membership(user, organization).role == Role.OWNER
    assert perms(user, organization) == ROLE_PERMISSIONS[Role.OWNER]
    assert organization.slug == "blue-widgets"
    assert organization.settings == {"currency": "USD", "tax_rate_bps": 0, "flat_shipping_cents": 0, "timezone": "UTC"}


def test_create_writes_audit_rows_and_events(user):
    organization = services.organization_create(actor=user, name="Audited")

    actions = set(AuditLog.objects.filter(organization=organization).values_list("action", flat=True))
    assert actions == {"organization.created", "membership.created"}
    assert AuditLog.objects.get(action="organization.created", organization=organization).actor_id == user.pk
    event_types = set(OutboxEvent.objects.filter(organization_id=organization.pk).values_list("event_type", flat=True))
    assert event_types == {"organization.created", "organization.member_added"}


def test_generated_slugs_stay_unique(user):
    first = services.organization_create(actor=user, name="Acme Corp")
    second = services.organization_create(actor=user, name="Acme  corp!")

    assert (first.slug, second.slug) == ("acme-corp", "acme-corp-2")


def test_explicit_taken_slug_is_a_conflict(user):
    services.organization_create(actor=user, name="One", slug="taken")

    with pytest.raises(Conflict):
        services.organization_create(actor=user, name="Two", slug="taken")


def test_slug_of_a_deleted_organization_can_be_reused(user):
    old = services.organization_create(actor=user, name="Phoenix")
    services.organization_delete(actor=user, organization=old)

    reborn = services.organization_create(actor=user, name="Phoenix")

    assert reborn.slug == "phoenix"


def test_restore_refuses_when_the_slug_was_taken_meanwhile(user):
    old = services.organization_create(actor=user, name="Phoenix")
    services.organization_delete(actor=user, organization=old)
    services.organization_create(actor=user, name="Phoenix")

    with pytest.raises(Conflict):
        services.organization_restore(actor=user, organization=old)


def test_invalid_settings_are_rejected(user):
    with pytest.raises(DjangoValidationError) as excinfo:
        services.organization_create(actor=user, name="Bad", settings={"currency": "usd", "tax_rate_bps": -1})

    assert "settings" in excinfo.value.message_dict


def test_update_merges_settings_and_audits_only_changed_keys(organization, owner):
    # when
    services.organization_update(
        actor=owner, organization=organization, data={"name": "Acme", "settings": {"currency": "EUR"}}
    )

    # then
    organization.refresh_from_db()
    assert organization.settings["currency"] == "EUR"
    assert organization.settings["timezone"] == "UTC"
    entry = AuditLog.objects.get(action="organization.updated")
    assert entry.old_values == {"settings": {"currency": "USD"}}
    assert entry.new_values == {"settings": {"currency": "EUR"}}


def test_update_without_changes_writes_nothing(organization, owner):
    services.organization_update(actor=owner, organization=organization, data={"name": organization.name})

    assert not AuditLog.objects.filter(action="organization.updated").exists()


def test_only_an_owner_changes_billing(organization, owner, admin):
    with pytest.raises(PermissionDenied):
        services.organization_update(actor=admin, organization=organization, data={"billing_email": "a@example.com"})

    services.organization_update(actor=owner, organization=organization, data={"billing_email": "b@example.com"})
    organization.refresh_from_db()
    assert organization.billing_email == "b@example.com"


def test_soft_deleted_organization_disappears_from_selectors(organization, owner):
    services.organization_delete(actor=owner, organization=organization)

    assert Organization.objects.filter(pk=organization.pk, deleted_at__isnull=False).exists()
    assert not selectors.organization_list(user=owner).exists()
    with pytest.raises(NotFound):
        selectors.organization_get(user=owner, organization_id=organization.pk)


# --- memberships -------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_each_role_holds_exactly_its_table_permissions(organization, role):
    user = MembershipFactory(organization=organization, role=role).user

    assert perms(user, organization) == ROLE_PERMISSIONS[role]


def test_role_change_replaces_the_permissions(organization, owner, viewer):
    services.membership_update(actor=owner, membership=membership(viewer, organization), role=Role.ADMIN)

    assert perms(viewer, organization) == ROLE_PERMISSIONS[Role.ADMIN]
    assert viewer.groups.count() == 1


def test_extra_permissions_are_granted_on_top_of_the_role(organization, admin, viewer):
    services.membership_update(
        actor=admin, membership=membership(viewer, organization), permissions=["add_products", "view_audit_logs"]
    )

    assert perms(viewer, organization) == ROLE_PERMISSIONS[Role.VIEWER] | {"add_products", "view_audit_logs"}

    services.membership_update(actor=admin, membership=membership(viewer, organization), permissions=[])
    assert perms(viewer, organization) == ROLE_PERMISSIONS[Role.VIEWER]


def test_owner_only_permissions_are_not_grantable_as_extras(organization, owner, admin):
    with pytest.raises(ValidationError):
        services.membership_update(
            actor=owner, membership=membership(admin, organization), permissions=["manage_owners"]
        )


def test_nobody_grants_a_permission_they_do_not_hold(organization, owner, member, viewer):
    services.membership_update(actor=owner, membership=membership(member, organization), permissions=["change_members"])

    with pytest.raises(PermissionDenied):
        services.membership_update(
            actor=member, membership=membership(viewer, organization), permissions=["view_audit_logs"]
        )


def test_unknown_permission_codename_is_a_validation_error(organization, owner, member):
    with pytest.raises(ValidationError):
        services.membership_update(actor=owner, membership=membership(member, organization), permissions=["fly"])


def test_only_an_owner_makes_an_owner(organization, owner, admin, member):
    with pytest.raises(PermissionDenied):
        services.membership_update(actor=admin, membership=membership(member, organization), role=Role.OWNER)

    services.membership_update(actor=owner, membership=membership(member, organization), role=Role.OWNER)
    assert membership(member, organization).role == Role.OWNER


def test_admin_cannot_change_an_owner(organization, owner, admin):
    with pytest.raises(PermissionDenied):
        services.membership_update(actor=admin, membership=membership(owner, organization), role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.membership_remove(actor=admin, membership=membership(owner, organization))

    assert membership(owner, organization).role == Role.OWNER


def test_admin_cannot_promote_themselves_to_owner(organization, owner, admin):
    with pytest.raises(PermissionDenied):
        services.membership_update(actor=admin, membership=membership(admin, organization), role=Role.OWNER)


def test_last_owner_cannot_be_demoted(organization, owner):
    with pytest.raises(Conflict) as excinfo:
        services.membership_update(actor=owner, membership=membership(owner, organization), role=Role.ADMIN)

    assert excinfo.value.details["reason"] == "last_owner"


def test_last_owner_cannot_be_removed(organization, owner):
    with pytest.raises(Conflict):
        services.membership_remove(actor=owner, membership=membership(owner, organization))


def test_last_owner_cannot_leave(organization, owner):
    with pytest.raises(Conflict):
        services.membership_leave(actor=owner, organization=organization)

    assert membership(owner, organization).role == Role.OWNER


def test_an_owner_can_leave_when_another_owner_remains(organization, owner):
    second = MembershipFactory(organization=organization, role=Role.OWNER).user

    services.membership_leave(actor=owner, organization=organization)

    assert not Membership.objects.filter(user=owner).exists()
    assert perms(owner, organization) == frozenset()
    assert membership(second, organization).role == Role.OWNER


def test_owner_demotes_another_owner(organization, owner):
    second = MembershipFactory(organization=organization, role=Role.OWNER).user

    services.membership_update(actor=owner, membership=membership(second, organization), role=Role.MEMBER)

    assert perms(second, organization) == ROLE_PERMISSIONS[Role.MEMBER]


def test_removed_member_loses_every_permission_and_group(organization, admin, member):
    services.membership_update(actor=admin, membership=membership(member, organization), permissions=["view_billing"])

    services.membership_remove(actor=admin, membership=membership(member, organization))

    assert perms(member, organization) == frozenset()
    assert member.groups.count() == 0
    entry = AuditLog.objects.get(action="membership.removed")
    assert entry.old_values["role"] == Role.MEMBER


def test_membership_in_one_organization_grants_nothing_in_another(organization, owner, other_organization):
    assert perms(owner, other_organization) == frozenset()


def test_role_permissions_sync_restores_drift(organization, owner):
    from apps.organizations.models import OrganizationGroupObjectPermission

    # given a grant lost from the owner group
    OrganizationGroupObjectPermission.objects.filter(
        content_object=organization, permission__codename="manage_owners"
    ).delete()
    assert "manage_owners" not in perms(owner, organization)

    # when
    changed = services.role_permissions_sync()

    # then
    assert changed == 1
    assert "manage_owners" in perms(owner, organization)
    assert services.role_permissions_sync() == 0


def test_factories_keep_guardian_in_step():
    organization = OrganizationFactory()
    user = MembershipFactory(organization=organization, role=Role.VIEWER).user

    assert perms(user, organization) == ROLE_PERMISSIONS[Role.VIEWER]
