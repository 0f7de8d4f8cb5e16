"""Order reads shared by the API, admin and tasks, scoped to what the acting user may see.

Members of an organization (every role holds ``view_orders``) see all of its
orders; everyone sees the orders they placed themselves as a customer. Any
other order does not exist for them (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.audit.models import AuditLog
from apps.core.db import CompiledSelect
from apps.core.exceptions import NotFound
from apps.orders.models import Order, OrderItem
from apps.organizations.models import Membership, Organization
from apps.organizations.selectors import User, scope_to_organization


def member_organization_ids(*, user: User) -> frozenset[uuid.UUID]:
    """Ids of the (non-deleted) organizations the user belongs to; one query."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    return frozenset(
        scope_to_organization(Organization.objects.all(), user=user, field="").values_list("id", flat=True)
    )


def visible_orders(*, user: User, member_of: frozenset[uuid.UUID] | None = None) -> QuerySet[Order]:
    """Orders of the user's organizations plus the user's own; nothing for anonymous users."""
    if not getattr(user, "is_authenticated", False):
        return Order.objects.none()
    member_of = member_organization_ids(user=user) if member_of is None else member_of
    visible = Q(user=user)
    if member_of:
        visible |= Q(organization_id__in=member_of)
    return Order.objects.filter(visible)


def order_list(*, user: User, member_of: frozenset[uuid.UUID] | None = None) -> QuerySet[Order]:
    """Orders for a list page: no items, but their count, in one query.

    The count is a subquery per listed row (read through the items' order index
    after the page's LIMIT), not a join with GROUP BY, which would aggregate
    every visible order's items before limiting: O(page), not O(orders).
    """
    items = (
        OrderItem.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(count=Count("*"))
        .values("count")
    )
    return visible_orders(user=user, member_of=member_of).annotate(
        item_count=Coalesce(Subquery(items, output_field=IntegerField()), 0)
    )


def order_get(*, user: User, order_id: uuid.UUID | str, member_of: frozenset[uuid.UUID] | None = None) -> Order:
    """One order the user may read, with its items and organization; NotFound otherwise."""
    try:
        return (
            visible_orders(user=user, member_of=member_of)
            .select_related("organization")
            .prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("position")))
            .get(pk=order_id)
        )
    except (Order.DoesNotExist, ValueError, TypeError, DjangoValidationError) as exc:
        raise NotFound("Order not found.") from exc


def order_history(*, order: Order) -> QuerySet[AuditLog]:
    """The order's audit entries, oldest first (for staff screens: not scoped by user)."""
    return (
        AuditLog.objects.filter(resource_type="order", resource_id=str(order.pk), organization_id=order.organization_id)
        .select_related("actor")
        .order_by("created_at")
    )


def apply_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """An order number (digits, optionally after ``#``) or part of the customer's email."""
    term = term.strip()
    condition = Q(customer_email__icontains=term) | Q(user__email__icontains=term)
    number = term.lstrip("#")
    if number.isdigit() and len(number) <= 9:
        condition |= Q(order_number=int(number))
    return queryset.filter(condition)


# Every placement runs it: compiled once (apps/core/db.py).
_ORGANIZATION_FOR_ORDERING = CompiledSelect(
    lambda organization_id, user_id: Organization.objects.filter(pk=organization_id, deleted_at__isnull=True).annotate(
        orderer_is_member=Exists(Membership.objects.filter(organization=OuterRef("pk"), user_id=user_id))
    ),
    "organization_id",
    "user_id",
)


def organization_for_ordering(*, organization_id: uuid.UUID | str, user_id: uuid.UUID | None = None) -> Organization:
    """Any live organization takes orders from any signed-in user: NotFound only when missing or deleted.

    With ``user_id``, the same query tells whether that user is a member
    (``organization.orderer_is_member``: the response shows them the members' fields).
    """
    organization: Organization | None = _ORGANIZATION_FOR_ORDERING(
        organization_id=organization_id, user_id=user_id or uuid.UUID(int=0)
    )
    if organization is None:
        raise NotFound("Organization not found.")
    return organization


def customer_received_product(*, user_id: Any, product_id: uuid.UUID) -> bool:
    """Whether the customer has a delivered order containing the product (reviews call it *verified*)."""
    return OrderItem.objects.filter(
        order__user_id=user_id, order__status=Order.Status.DELIVERED, product_id=product_id
    ).exists()
