"""Thin viewsets: parse → service/selector → serialize. Access: OrganizationPermission + scoped selectors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.openapi import documented_error
from apps.organizations import selectors, services
from apps.organizations import serializers as s
from apps.organizations.api.filters import InvitationFilter
from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.permissions import (
    OrganizationPermission,
    OrganizationScopedMixin,
    request_checker,
    resolve_organization,
)


def _organization_output(request: Request, organization: Organization | list[Organization], **kwargs: Any) -> Any:
    checker = request_checker(request)
    return s.OrganizationOutputSerializer(
        organization,
        context={
            "request": request,
            "permissions_for": lambda org: selectors.organization_permissions(
                user=request.user, organization=org, checker=checker
            ),
        },
        **kwargs,
    )


@extend_schema_view(
    list=extend_schema(summary="List my organizations", responses=s.OrganizationOutputSerializer(many=True)),
    create=extend_schema(
        summary="Create an organization (you become its owner)",
        request=s.OrganizationCreateInputSerializer,
        responses={201: s.OrganizationOutputSerializer, 409: documented_error("409", "CONFLICT: the slug is taken.")},
    ),
    retrieve=extend_schema(summary="Get an organization", responses=s.OrganizationOutputSerializer),
    partial_update=extend_schema(
        summary="Change an organization (owner, admin; billing fields: owner)",
        request=s.OrganizationUpdateInputSerializer,
        responses={200: s.OrganizationOutputSerializer, 409: documented_error("409", "CONFLICT: the slug is taken.")},
    ),
    destroy=extend_schema(summary="Delete an organization (owner; soft delete)", responses={204: None}),
)
class OrganizationViewSet(OrganizationScopedMixin, viewsets.GenericViewSet):
    """Organizations (tenants) the caller belongs to. Other tenants answer 404."""

    permission_classes = [OrganizationPermission]
    organization_url_kwarg = "pk"
    organization_permissions = {
        "list": None,
        "create": None,
        "retrieve": "view_organization",
        "partial_update": "change_organization",
        "destroy": "delete_organization",
        "leave": None,
    }
    lookup_value_converter = "uuid"
    serializer_class = s.OrganizationOutputSerializer
    queryset = Organization.objects.none()  # schema only; data comes from selectors
    filter_backends: list[Any] = []

    def get_queryset(self):
        return selectors.organization_list(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        if page:
            request_checker(request).prefetch_perms(page)  # two queries for the whole page
        return self.get_paginated_response(_organization_output(request, page, many=True).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.OrganizationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.organization_create(actor=request.user, **data.validated_data)
        organization = resolve_organization(request, organization.pk)
        return Response(_organization_output(request, organization).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_organization_output(request, self.organization).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.OrganizationUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        organization = services.organization_update(
            actor=request.user, organization=self.organization, data=data.validated_data
        )
        organization.my_role = getattr(self.organization, "my_role", None)
        return Response(_organization_output(request, organization).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.organization_delete(actor=request.user, organization=self.organization)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Leave an organization (the last owner cannot)",
        request=None,
        responses={204: None, 409: documented_error("409", "CONFLICT: you are its last owner.")},
    )
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.membership_leave(actor=request.user, organization=self.organization)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List members (with email, name and role)"),
    retrieve=extend_schema(summary="Get a member"),
    partial_update=extend_schema(
        summary="Change a member's role or extra permissions (owner, admin; owners: owner only)",
        request=s.MembershipUpdateInputSerializer,
        responses={
            200: s.MembershipOutputSerializer,
            409: documented_error("409", "CONFLICT: the organization would have no owner left."),
        },
    ),
    destroy=extend_schema(
        summary="Remove a member (owner, admin; owners: owner only)",
        responses={204: None, 409: documented_error("409", "CONFLICT: the organization would have no owner left.")},
    ),
)
class MembershipViewSet(
    OrganizationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """An organization's members: every member reads; owners and admins change and remove."""

    permission_classes = [OrganizationPermission]
    organization_resource = "members"
    lookup_value_converter = "uuid"
    serializer_class = s.MembershipOutputSerializer
    queryset = Membership.objects.none()
    filter_backends: list[Any] = []

    def get_queryset(self):
        return selectors.membership_list(user=self.request.user, organization=self.organization)

    def get_object(self) -> Membership:
        membership = selectors.membership_get(
            user=self.request.user, organization=self.organization, membership_id=self.kwargs["pk"]
        )
        self.check_object_permissions(self.request, membership)
        return membership

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.MembershipUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        membership = services.membership_update(actor=request.user, membership=self.get_object(), **data.validated_data)
        return Response(s.MembershipOutputSerializer(membership).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.membership_remove(actor=request.user, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List invitations (owner, admin)"),
    create=extend_schema(
        summary="Invite someone by email (owner, admin; owners: owner only)",
        request=s.InvitationCreateInputSerializer,
        responses={
            201: s.InvitationOutputSerializer,
            402: documented_error("402"),
            409: documented_error("409", "CONFLICT: already a member, or an invitation is pending for that email."),
        },
    ),
    destroy=extend_schema(summary="Revoke an invitation (owner, admin)", responses={204: None}),
)
class InvitationViewSet(OrganizationScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Email invitations (owners and admins). The token only ever travels in the email."""

    permission_classes = [OrganizationPermission]
    # Managing invitations is managing members: all three need add_members.
    organization_permissions = {"list": "add_members", "create": "add_members", "destroy": "add_members"}
    lookup_value_converter = "uuid"
    serializer_class = s.InvitationOutputSerializer
    queryset = Invitation.objects.none()
    filterset_class = InvitationFilter

    def get_queryset(self):
        return selectors.invitation_list(user=self.request.user, organization=self.organization)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.InvitationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            actor=request.user, organization=self.organization, **data.validated_data
        )
        return Response(s.InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation = selectors.invitation_get(
            user=request.user, organization=self.organization, invitation_id=self.kwargs["pk"]
        )
        self.check_object_permissions(request, invitation)
        services.invitation_revoke(actor=request.user, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(APIView):
    """``POST invitations/accept/``: the invited user, signed in with the invited email, joins."""

    @extend_schema(
        summary="Accept an invitation",
        request=s.InvitationAcceptInputSerializer,
        responses={
            201: s.InvitationAcceptOutputSerializer,
            402: documented_error("402"),
            404: documented_error("404", "NOT_FOUND: no pending invitation with this token for your email."),
            409: documented_error("409", "CONFLICT: the invitation was accepted, revoked or has expired."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.InvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.invitation_accept(user=request.user, token=data.validated_data["token"])
        body = s.InvitationAcceptOutputSerializer(
            {"organization": membership.organization, "membership": membership}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)
