"""What every resolver knows about the request: who is asking and what they may do.

The view authenticates the Django request with the same class as REST
(:class:`~apps.accounts.authentication.SessionJWTAuthentication`) before the
operation runs. A bad token is not fatal to the whole request: it fails each
field that asks who the caller is (``UNAUTHORIZED``), while ``login``,
``register`` and ``refreshToken`` ignore it, like the REST auth endpoints that
read no bearer token.

Permissions come from the organizations app's helpers on the request (one
guardian checker per request); the first question prefetches the caller's
grants for all of their organizations, so any number of checks in one
operation costs a constant number of queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AnonymousUser
from strawberry.django.context import StrawberryDjangoContext
from strawberry.types import Info

from apps.accounts.events import ClientInfo
from apps.accounts.throttles import client_info
from apps.core.exceptions import ApplicationError
from apps.organizations.models import Organization
from apps.organizations.permissions import request_checker, request_permissions, require_permission
from apps.organizations.policies import graphql_member_access_allowed, graphql_member_access_require
from apps.organizations.selectors import organization_list


class AuthenticationRequired(ApplicationError):
    code = "UNAUTHORIZED"
    http_status = 401
    default_message = "Authentication credentials were not provided."


@dataclass
class GraphQLContext(StrawberryDjangoContext):
    # Set by the view: the error authenticating the bearer token, if any (raised on first use of the user).
    auth_error: BaseException | None = None
    auth_token: Any = None  # the validated access token (its claims name the session)
    _perms_prefetched: bool = field(default=False, repr=False)

    # --- who -------------------------------------------------------------------------------

    @property
    def user(self) -> Any:
        """The caller (``AnonymousUser`` without a token); a bad token raises its 401 here."""
        if self.auth_error is not None:
            raise self.auth_error
        return getattr(self.request, "user", None) or AnonymousUser()

    def require_user(self) -> Any:
        user = self.user
        if not user.is_authenticated:
            raise AuthenticationRequired()
        return user

    @cached_property
    def client(self) -> ClientInfo:
        return client_info(self.request)  # type: ignore[arg-type]  # reads META and headers only

    # --- what they may do ------------------------------------------------------------------

    @cached_property
    def all_my_organizations(self) -> dict[uuid.UUID, Organization]:
        """Every organization the caller belongs to, by id, with ``my_role`` (the organizations selector; one query)."""
        user = self.user
        if not user.is_authenticated:
            return {}
        return {organization.pk: organization for organization in organization_list(user=user)}

    @cached_property
    def my_organizations(self) -> dict[uuid.UUID, Organization]:
        """The caller's organizations whose plan has GraphQL: the ones they act in as a member here.

        In another of their organizations they are like anyone else over GraphQL
        (public products, their own orders); acting on it as a member is
        ``FEATURE_NOT_IN_PLAN`` (:meth:`member_access_require`).
        """
        return {
            pk: organization
            for pk, organization in self.all_my_organizations.items()
            if graphql_member_access_allowed(organization=organization)
        }

    def member_access_require(self, organization: Organization) -> None:
        """402 ``FEATURE_NOT_IN_PLAN`` when the caller belongs to ``organization`` and its plan lacks GraphQL."""
        if organization.pk in self.all_my_organizations and organization.pk not in self.my_organizations:
            graphql_member_access_require(organization=organization)

    @property
    def member_of(self) -> frozenset[uuid.UUID]:
        """Ids of the caller's (non-deleted) organizations."""
        return frozenset(self.my_organizations)

    def role_in(self, organization_id: uuid.UUID) -> str | None:
        organization = self.all_my_organizations.get(organization_id)
        return getattr(organization, "my_role", None) if organization is not None else None

    def permissions(self, organization: Organization) -> frozenset[str]:
        """Codenames the caller holds on ``organization`` (REST's helper; all organizations prefetched once).

        What they hold, whatever the plan; acting on it over GraphQL goes through :meth:`require`.
        """
        if organization.pk not in self.all_my_organizations:
            return frozenset()
        if not self._perms_prefetched:
            self._perms_prefetched = True
            request_checker(self.request).prefetch_perms(list(self.all_my_organizations.values()))  # type: ignore[arg-type]
        return request_permissions(self.request, organization)  # type: ignore[arg-type]

    def require(self, organization: Organization, perm: str) -> None:
        """FORBIDDEN unless the caller holds ``perm`` on ``organization`` (REST's ``require_permission``).

        A member of an organization whose plan lacks GraphQL gets ``FEATURE_NOT_IN_PLAN`` first.
        """
        self.member_access_require(organization)
        self.permissions(organization)  # warm the checker's cache
        require_permission(self.request, organization, perm)  # type: ignore[arg-type]

    def memberships_changed(self) -> None:
        """Forget what was read about the caller's organizations (after creating or joining one)."""
        self.__dict__.pop("my_organizations", None)
        self.__dict__.pop("all_my_organizations", None)
        self._perms_prefetched = False
        self.request.__dict__.pop("_organization_checker", None)


def context_of(info: Info) -> GraphQLContext:
    return info.context  # type: ignore[no-any-return]
