"""Organizations: ``organizations``, ``organization``, members and invitations, on the organizations app.

Reads go through ``apps.organizations.selectors`` (``organization_list`` and
``scope_to_organization``, the helper every tenant selector uses); writes call
``apps.organizations.services``; permissions are REST's, on the request.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry.scalars import JSON
from strawberry.types import Info

from apps.core.exceptions import ValidationError
from apps.graphql.common import DjangoCursorConnection, get_one, page_connection
from apps.graphql.context import context_of
from apps.graphql.inputs import validated
from apps.organizations import selectors, services
from apps.organizations import serializers as rest
from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.roles import Role as RoleChoices

if TYPE_CHECKING:
    from apps.graphql.catalog import ProductType
    from apps.graphql.orders import OrderType


@strawberry.enum(description="A member's role in an organization.")
class Role(enum.Enum):
    OWNER = RoleChoices.OWNER.value
    ADMIN = RoleChoices.ADMIN.value
    MEMBER = RoleChoices.MEMBER.value
    VIEWER = RoleChoices.VIEWER.value


@strawberry_django.type(Membership, name="Member", description="A member of an organization and their role.")
class MemberType:
    id: UUID
    role: Role
    permissions: list[str] = strawberry_django.field(description="Extra permission codenames on top of the role.")
    invited_at: datetime | None
    accepted_at: datetime | None
    created_at: datetime

    @strawberry_django.field(only=["user_id"])
    def user_id(self, root: Membership) -> UUID:
        return root.user_id

    @strawberry_django.field(select_related=["user"], only=["user__email"])
    def email(self, root: Membership) -> str:
        return root.user.email

    @strawberry_django.field(select_related=["user"], only=["user__full_name"])
    def full_name(self, root: Membership) -> str:
        return root.user.full_name

    @strawberry_django.field(only=["invited_by_id"])
    def invited_by_id(self, root: Membership) -> UUID | None:
        return root.invited_by_id

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Membership], info: Info, **kwargs: Any) -> QuerySet[Membership]:
        # Whatever the path: members of the caller's organizations (organization_list) where they may view members.
        context = context_of(info)
        readable = [org.pk for org in context.my_organizations.values() if "view_members" in context.permissions(org)]
        return queryset.filter(organization_id__in=readable)


@strawberry_django.type(Invitation, name="Invitation", description="An email invitation to join an organization.")
class InvitationType:
    id: UUID
    email: str
    role: Role
    expires_at: datetime
    sent_at: datetime | None
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @strawberry_django.field(
        only=["accepted_at", "revoked_at", "expires_at"], description="pending, accepted, revoked or expired."
    )
    def status(self, root: Invitation) -> str:
        return str(root.status)

    @strawberry_django.field(only=["invited_by_id"])
    def invited_by_id(self, root: Invitation) -> UUID | None:
        return root.invited_by_id


@strawberry_django.type(
    Organization,
    name="Organization",
    description="An organization (tenant) the caller belongs to. Another tenant's is NOT_FOUND.",
)
class OrganizationType:
    id: UUID
    name: str
    slug: str
    logo_url: str
    settings: JSON
    features: JSON
    limits: JSON
    status: str
    created_at: datetime
    updated_at: datetime

    members: list[MemberType] = strawberry_django.field(
        field_name="memberships", description="Every member with their role (view_members)."
    )
    products: DjangoCursorConnection[Annotated[ProductType, strawberry.lazy("apps.graphql.catalog")]] = page_connection(
        description="The organization's products, every status (members see drafts too)."
    )
    orders: DjangoCursorConnection[Annotated[OrderType, strawberry.lazy("apps.graphql.orders")]] = page_connection(
        description="The organization's orders, newest first (view_orders)."
    )

    @strawberry_django.field(only=["billing_email"], description="Only with the view_billing permission.")
    def billing_email(self, root: Organization, info: Info) -> str | None:
        return root.billing_email if "view_billing" in context_of(info).permissions(root) else None

    @strawberry_django.field(description="The caller's role here.")
    def role(self, root: Organization, info: Info) -> Role | None:
        role = context_of(info).role_in(root.pk)
        return Role(role) if role else None

    @strawberry_django.field(description="Permission codenames the caller holds here.")
    def permissions(self, root: Organization, info: Info) -> list[str]:
        return sorted(context_of(info).permissions(root))

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Organization], info: Info, **kwargs: Any) -> QuerySet[Organization]:
        # Any path to an organization (a product's, an order's) leads only to the caller's own (organization_list).
        return queryset.filter(pk__in=context_of(info).member_of)


# --- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="Merged key by key into the current settings.")
class OrganizationSettingsInput:
    currency: str | None = strawberry.UNSET
    tax_rate_bps: int | None = strawberry.UNSET
    flat_shipping_cents: int | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET


@strawberry.input
class CreateOrganizationInput:
    name: str
    slug: str | None = strawberry.field(default=strawberry.UNSET, description="Derived from the name when omitted.")
    logo_url: str | None = strawberry.UNSET
    settings: OrganizationSettingsInput | None = strawberry.UNSET
    billing_email: str | None = strawberry.UNSET


@strawberry.input
class UpdateOrganizationInput:
    name: str | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET
    logo_url: str | None = strawberry.UNSET
    settings: OrganizationSettingsInput | None = strawberry.UNSET
    billing_email: str | None = strawberry.field(default=strawberry.UNSET, description="Owners only.")


# --- root fields ------------------------------------------------------------------------------


def _organization_for(info: Info, *, organization_id: UUID) -> Organization:
    return selectors.organization_get(user=context_of(info).require_user(), organization_id=organization_id)


@strawberry.type
class OrganizationsQuery:
    @strawberry_django.field(description="The organizations the caller belongs to.")
    def organizations(self, info: Info) -> list[OrganizationType] | None:
        return selectors.organization_list(user=context_of(info).require_user())  # type: ignore[return-value]

    @strawberry_django.field(description="One of the caller's organizations, by id or slug.")
    def organization(self, info: Info, id: UUID | None = None, slug: str | None = None) -> OrganizationType | None:  # noqa: A002
        if (id is None) == (slug is None):
            raise ValidationError("Give either id or slug.", details={"id": ["Give either id or slug."]})
        queryset = selectors.organization_list(user=context_of(info).require_user())
        queryset = queryset.filter(pk=id) if id is not None else queryset.filter(slug=slug)
        return get_one(queryset, info, message="Organization not found.")  # type: ignore[return-value]


@strawberry.type
class OrganizationsMutation:
    @strawberry.mutation(description="Create an organization; the caller becomes its owner.")
    def create_organization(self, info: Info, input: CreateOrganizationInput) -> OrganizationType | None:  # noqa: A002
        context = context_of(info)
        user = context.require_user()
        data = validated(rest.OrganizationCreateInputSerializer, input)
        organization = services.organization_create(actor=user, **data)
        context.memberships_changed()
        return organization  # type: ignore[return-value]

    @strawberry.mutation(description="Change an organization (owner, admin; billing email: owner only).")
    def update_organization(
        self,
        info: Info,
        id: UUID,  # noqa: A002
        input: UpdateOrganizationInput,  # noqa: A002
    ) -> OrganizationType | None:
        context = context_of(info)
        organization = _organization_for(info, organization_id=id)
        context.require(organization, "change_organization")
        data = validated(rest.OrganizationUpdateInputSerializer, input, partial=True)
        return services.organization_update(actor=context.user, organization=organization, data=data)  # type: ignore[return-value]

    @strawberry.mutation(description="Invite someone by email (owner, admin; owners only invite owners).")
    def invite_member(
        self, info: Info, organization_id: UUID, email: str, role: Role = Role.MEMBER
    ) -> InvitationType | None:
        context = context_of(info)
        organization = _organization_for(info, organization_id=organization_id)
        context.require(organization, "add_members")
        data = validated(rest.InvitationCreateInputSerializer, {"email": email, "role": role.value})
        return services.invitation_create(actor=context.user, organization=organization, **data)  # type: ignore[return-value]
