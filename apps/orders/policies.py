"""Who may move an order: the one rule every door (REST, GraphQL, admin) goes through.

Staff of the order's organization with ``change_orders`` (superusers hold every
permission) may make any transition the status allows; anyone else may act
only as the order's customer, and a customer may only cancel their own pending
order. Visibility (404 for an order the caller may not see) is the selectors'
job and comes first.
"""

from __future__ import annotations

from typing import Any

from apps.core.exceptions import PermissionDenied
from apps.orders.models import Order
from apps.organizations.selectors import organization_permissions

CHANGE_ORDERS = "change_orders"
CUSTOMER_TRANSITIONS = frozenset({"cancel"})


def order_is_staff(*, user: Any, order: Order, permissions: frozenset[str] | None = None) -> bool:
    """Whether ``user`` acts on ``order`` as its organization's staff (``change_orders``).

    ``permissions``: the codenames the caller holds on the order's organization,
    when the door already read them (one guardian checker per request).
    """
    if permissions is None:
        permissions = organization_permissions(user=user, organization=order.organization)
    return CHANGE_ORDERS in permissions


def order_transition_as_customer(
    *, user: Any, order: Order, name: str, permissions: frozenset[str] | None = None
) -> bool:
    """Check that ``user`` may ask for transition ``name`` of ``order``; True when they act as its customer.

    Raises :class:`PermissionDenied` (403) for anyone who is neither staff with
    ``change_orders`` nor the order's customer asking to cancel.
    """
    if order_is_staff(user=user, order=order, permissions=permissions):
        return False
    if name in CUSTOMER_TRANSITIONS and getattr(user, "is_authenticated", False) and order.user_id == user.pk:
        return True
    raise PermissionDenied()


def order_staff_require(*, user: Any, order: Order, permissions: frozenset[str] | None = None) -> None:
    """403 unless ``user`` is staff of the order's organization (refunds, notes)."""
    if not order_is_staff(user=user, order=order, permissions=permissions):
        raise PermissionDenied()


def customer_allowed_transitions(order: Order) -> list[str]:
    """A customer may cancel their own order while it is pending, and do nothing else."""
    return ["cancel"] if order.status == Order.Status.PENDING else []


def order_allowed_transitions(*, user: Any, order: Order, permissions: frozenset[str] | None = None) -> list[str]:
    """The transitions ``user`` may make on ``order`` now (what doors show as buttons or fields)."""
    if order_is_staff(user=user, order=order, permissions=permissions):
        return list(order.allowed_transitions)
    if getattr(user, "is_authenticated", False) and order.user_id == user.pk:
        return customer_allowed_transitions(order)
    return []
