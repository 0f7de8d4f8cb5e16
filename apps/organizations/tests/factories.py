"""Factories that keep guardian in step: memberships go through the service that grants the role."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.organizations import services
from apps.organizations.models import DEFAULT_SETTINGS, Invitation, Membership, Organization
from apps.organizations.roles import Role


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization with its role groups but no members (use MembershipFactory or ``with_owner``)."""

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")
    settings = factory.LazyFunction(lambda: dict(DEFAULT_SETTINGS))

    @factory.post_generation
    def _role_groups(obj, create, extracted, **kwargs):
        if create:
            services.role_groups_ensure(organization=obj)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER
    permissions = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.membership_create(
            organization=kwargs["organization"],
            user=kwargs["user"],
            role=kwargs["role"],
            permissions=kwargs.get("permissions") or (),
        )


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation (no token: tests get one from ``services.invitation_send``)."""

    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    invited_by = None
