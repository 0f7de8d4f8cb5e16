"""Tenant access for every API view: one permission class, one organization lookup, one scoping helper.

How a tenant viewset uses them (products, orders, webhooks, ... do the same)::

    from apps.organizations.permissions import OrganizationPermission, OrganizationScopedMixin
    from apps.organizations.selectors import scope_to_organization

    class ProductViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
        # URL: organizations/<uuid:organization_pk>/products/...
        permission_classes = [OrganizationPermission]
        organization_resource = "products"        # GET→view_products, POST→add_products,
                                                  # PUT/PATCH→change_products, DELETE→delete_products
        organization_permissions = {"publish": "change_products"}  # custom actions (None: members only)

        def get_queryset(self):
            return product_list(user=self.request.user, organization=self.organization)
            # product_list() calls scope_to_organization(Product.objects..., user=..., organization=...)

Decisions, in order:

1. not authenticated → 401;
2. the URL's organization (``organization_url_kwarg``, default
   ``organization_pk``) is deleted, missing or not the user's → 404 (no
   existence leak); views whose URL names no organization skip 2-3 and rely
   on their selector's scoping;
3. the user lacks the codename the action needs → 403 (an action without a
   codename is refused: secure by default);
4. an object outside the organization → 404 (the scoped queryset already
   hides it; ``has_object_permission`` double-checks).

Public reads (anyone may read an organization's active products) are not
tenant access: such an endpoint uses ``AllowAny`` and a selector of its own
that filters to public rows, and keeps ``OrganizationPermission`` for writes.

Permissions are the guardian object permissions on the Organization (role
group + extra grants; see ``roles.py``). One ``ObjectPermissionChecker`` lives
on the request, so a request pays two queries for any number of checks, and a
role change is seen by the next request (nothing is cached across requests;
guardian's ``AUTO_PREFETCH``, which caches on the user, stays off).
"""

from __future__ import annotations

from typing import Any

from guardian.core import ObjectPermissionChecker
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.core.exceptions import NotFound, PermissionDenied
from apps.organizations.models import Organization
from apps.organizations.selectors import organization_get, organization_permissions

METHOD_VERBS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}
_MISSING = object()


def request_checker(request: Request) -> ObjectPermissionChecker:
    """The request's one guardian checker (its cache dies with the request)."""
    checker = getattr(request, "_organization_checker", None)
    if checker is None:
        checker = ObjectPermissionChecker(request.user)
        request._organization_checker = checker
    return checker


def request_permissions(request: Request, organization: Organization) -> frozenset[str]:
    """Codenames the requesting user holds on ``organization``."""
    return organization_permissions(user=request.user, organization=organization, checker=request_checker(request))


def require_permission(request: Request, organization: Organization, perm: str) -> None:
    """For views whose organization comes from the object or the body: 403 unless ``perm`` is held."""
    if perm not in request_permissions(request, organization):
        raise PermissionDenied()


def resolve_organization(request: Request, organization_id: Any) -> Organization:
    """The organization ``organization_id`` if the requesting user is a member; NotFound otherwise. Cached."""
    cached = getattr(request, "_organization", None)
    if cached is not None and str(cached.pk) == str(organization_id):
        return cached
    organization = organization_get(user=request.user, organization_id=organization_id)
    request._organization = organization
    request._request.organization_id = organization.pk  # the access log line names the tenant
    return organization


def required_permission(view: Any, request: Request) -> str | None | object:
    """The codename the view's current action needs; ``None``: membership suffices; ``_MISSING``: refuse."""
    action = getattr(view, "action", None)
    explicit: dict[str, str | None] = getattr(view, "organization_permissions", {}) or {}
    for key in (action, request.method):
        if key is not None and key in explicit:
            return explicit[key]
    resource = getattr(view, "organization_resource", None)
    verb = METHOD_VERBS.get(request.method or "")
    if resource and verb:
        return f"{verb}_{resource}"
    return _MISSING


class OrganizationPermission(BasePermission):
    """THE permission class of tenant views. See the module docstring for the rules and an example."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        kwarg = getattr(view, "organization_url_kwarg", "organization_pk")
        organization_id = view.kwargs.get(kwarg) if hasattr(view, "kwargs") else None
        if organization_id is None:
            return True  # no organization in the URL: the selector scopes to the user's organizations
        organization = resolve_organization(request, organization_id)
        perm = required_permission(view, request)
        if perm is _MISSING:
            return False
        return perm is None or perm in request_permissions(request, organization)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        organization = getattr(request, "_organization", None)
        if organization is None:
            return True
        object_org_id = obj.pk if isinstance(obj, Organization) else getattr(obj, "organization_id", _MISSING)
        if object_org_id is not _MISSING and str(object_org_id) != str(organization.pk):
            raise NotFound()
        return True


class OrganizationScopedMixin:
    """For views under ``organizations/<uuid:organization_pk>/``: ``self.organization``, resolved once."""

    organization_url_kwarg = "organization_pk"
    request: Request
    kwargs: dict[str, Any]

    @property
    def organization(self) -> Organization:
        return resolve_organization(self.request, self.kwargs[self.organization_url_kwarg])

    @property
    def organization_perms(self) -> frozenset[str]:
        return request_permissions(self.request, self.organization)
