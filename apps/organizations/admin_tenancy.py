"""The admin as a tenant-aware door: what every ModelAdmin that shows tenant data inherits.

A staff member who is not a superuser sees only rows of the organizations they
belong to, everywhere the admin reads them: the change list, the detail page,
filters, autocomplete and the organization pickers of forms. What they may do
there is decided by the services (the same role checks as REST and GraphQL,
``apps.organizations.policies``); a service's refusal becomes an admin message,
never a 500.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from apps.core.admin_paginator import BoundedCountPaginator
from apps.core.exceptions import ApplicationError
from apps.organizations.models import Organization
from apps.organizations.policies import staff_organization_ids


def request_organization_ids(request: HttpRequest) -> frozenset[uuid.UUID] | None:
    """The organizations the staff member may see (``None``: all, a superuser); read once per request."""
    if not hasattr(request, "_staff_organization_ids"):
        request._staff_organization_ids = staff_organization_ids(user=request.user)  # type: ignore[attr-defined]
    return request._staff_organization_ids  # type: ignore[attr-defined]


class OrganizationListFilter(admin.RelatedFieldListFilter):
    """ "By organization", listing only the organizations the staff member belongs to.

    At most ``LISTED`` of them: a superuser (every organization) or a member of
    more is offered only the organization already chosen (``?organization__id__exact=``,
    e.g. from the organization's own admin page), never a list of every tenant on every page view.
    """

    LISTED = 50

    def field_choices(  # type: ignore[override]  # the stubs' choice label type is narrower than Django's
        self, field: Any, request: HttpRequest, model_admin: Any
    ) -> list[tuple[Any, str]]:
        ids = request_organization_ids(request)
        organizations = Organization.objects.order_by("name")
        if ids is not None and len(ids) <= self.LISTED:
            organizations = organizations.filter(pk__in=ids)
        else:
            chosen = []
            for value in self.lookup_val or []:
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    chosen.append(uuid.UUID(str(value)))
            organizations = organizations.filter(pk__in=chosen)
            if ids is not None:
                organizations = organizations.filter(pk__in=ids)
        return [(organization.pk, str(organization)) for organization in organizations]

    def has_output(self) -> bool:
        # A chosen organization is applied (and shown) even when it is the only one listed.
        return super().has_output() or bool(self.lookup_val)


def error_message(exc: ApplicationError) -> str:
    details = exc.details or {}
    parts = [
        f"{name}: {', '.join(map(str, value)) if isinstance(value, list) else value}" for name, value in details.items()
    ]
    return exc.message + (f" ({'; '.join(parts)})" if parts else "")


class TenantAdmin(admin.ModelAdmin):
    """Scope to the staff member's organizations through ``organization_path`` ("" for Organization itself)."""

    organization_path = "organization"
    # Page views cost the same on a million rows: no COUNT(*) of the whole table (apps/core/admin_paginator.py).
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def scope(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        ids = request_organization_ids(request)
        if ids is None:
            return queryset
        lookup = f"{self.organization_path}__in" if self.organization_path else "pk__in"
        return queryset.filter(**{lookup: ids})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope(request, super().get_queryset(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [
            (name, OrganizationListFilter) if name == self.organization_path and name else name
            for name in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        ids = request_organization_ids(request)
        if db_field.related_model is Organization and ids is not None:
            kwargs["queryset"] = Organization.objects.filter(pk__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # A service's refusal (soft-deleted row, duplicate, role) rolls the save back and shows as a message.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, error_message(exc), messages.ERROR)
            if request.method == "POST":  # back to the form (the save rolled back)
                return HttpResponseRedirect(request.get_full_path())
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def run_service(
        self,
        request: HttpRequest,
        items: Iterable[Model],
        service: Callable[[Any], Any],
        done_message: str,
    ) -> int:
        """Call ``service`` on each item; refusals become error messages; returns how many succeeded."""
        items = list(items)
        if not items:  # selected ids outside the staff member's organizations match nothing
            self.message_user(request, f"None of the selected {self.opts.verbose_name_plural} exist.", messages.WARNING)
            return 0
        done = 0
        for item in items:
            try:
                service(item)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{item}: {error_message(exc)}", messages.ERROR)
        if done:
            self.message_user(request, done_message.format(count=done), messages.SUCCESS)
        return done
