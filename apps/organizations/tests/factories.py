"""Factories that keep guardian in step: memberships go through the service that grants the role."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.billing.models import Feature, Limit
from apps.organizations import services
from apps.organizations.models import DEFAULT_SETTINGS, Invitation, Membership, Organization
from apps.organizations.roles import Role


def unlimited_plan() -> dict[str, dict]:
    """Features and limits of a plan without limits: factory organizations are not on ``free``."""
    return {
        "features": dict.fromkeys(Feature.values, True),
        "limits": dict.fromkeys(Limit.values),
    }


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization with its role groups but no members (use MembershipFactory or ``with_owner``).

    It carries an unlimited plan copy so that tests of other rules never trip
    over plan limits; billing tests pass ``features={}, limits={}`` (the
    default plan, as a new organization has) or a plan's values.
    """

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")
    settings = factory.LazyFunction(lambda: dict(DEFAULT_SETTINGS))
    features = factory.LazyFunction(lambda: unlimited_plan()["features"])
    limits = factory.LazyFunction(lambda: unlimited_plan()["limits"])

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
