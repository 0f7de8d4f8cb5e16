"""The order lifecycle: the transitions, the one transition and refund entry points, staff edits, customer emails.

Transitions lock the order row first (``SELECT ... FOR UPDATE``), so two concurrent transitions of one order run
one after the other and the second sees the first's status; they lock the order before products (cancel, refund).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from apps.audit.services import record_and_publish
from apps.catalog.services import stock_release
from apps.core.exceptions import PermissionDenied, ValidationError
from apps.core.services import model_update
from apps.orders import events, payments, policies
from apps.orders.errors import InvalidTransition
from apps.orders.models import Order
from apps.orders.services._common import _audit_values, _payload

# What a member may edit on an order outside the lifecycle (API PATCH and admin form).
EDITABLE_FIELDS = ("internal_notes", "metadata")
# Fields a transition may change; saved together.
LIFECYCLE_FIELDS = (
    "status",
    "payment_status",
    "fulfillment_status",
    "carrier",
    "tracking_number",
    "cancel_reason",
    "confirmed_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
    "stock_returned_at",
    "updated_at",
)


def _return_stock(order: Order) -> None:
    """Give the order's reserved stock back, once: ``stock_returned_at`` is set under the row lock."""
    if order.stock_returned_at is not None:
        return
    quantities = {item.variant_id: item.quantity for item in order.items.all() if item.variant_id is not None}
    if quantities:
        stock_release(quantities=quantities)
    order.stock_returned_at = timezone.now()
    order.fulfillment_status = Order.FulfillmentStatus.RESTOCKED


def _transition(
    *, order: Order, name: str, actor: AbstractBaseUser | None, by_customer: bool = False, **arguments: Any
) -> Order:
    # Not durable: a refund may run inside the Idempotency-Key transaction (REST's refund action).
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if by_customer:
            if actor is None or locked.user_id != actor.pk or name != "cancel":
                raise PermissionDenied()
            if name not in policies.customer_allowed_transitions(locked):
                raise InvalidTransition(
                    details={
                        "status": locked.status,
                        "transition": name,
                        "allowed": policies.customer_allowed_transitions(locked),
                    }
                )
        before = _audit_values(locked)
        previous_status = locked.status
        try:
            getattr(locked, name)(**arguments)
        except TransitionNotAllowed as exc:
            raise InvalidTransition(
                details={"status": locked.status, "transition": name, "allowed": locked.allowed_transitions}
            ) from exc
        if name == "ship":  # the whole order leaves in one shipment
            locked.items.update(fulfilled_quantity=F("quantity"))
        if name in {"cancel", "refund"}:
            _return_stock(locked)
        locked.save(update_fields=LIFECYCLE_FIELDS)
        event_type = events.TRANSITION_EVENTS[name]
        record_and_publish(
            action=event_type,
            resource_type="order",
            resource_id=locked.pk,
            organization=locked.organization_id,
            old_values=before,
            new_values=_audit_values(locked),
            **({"actor": actor} if actor is not None else {}),
            event_type=event_type,
            payload=_payload(locked, previous_status=previous_status, **arguments),
        )
    return locked


def order_confirm(*, order: Order, actor: AbstractBaseUser | None = None) -> Order:
    """pending → confirmed; the customer is emailed."""
    return _transition(order=order, name="confirm", actor=actor)


def order_process(*, order: Order, actor: AbstractBaseUser | None = None) -> Order:
    """confirmed → processing."""
    return _transition(order=order, name="process", actor=actor)


def order_ship(*, order: Order, carrier: str, tracking_number: str, actor: AbstractBaseUser | None = None) -> Order:
    """processing → shipped with the carrier and tracking number; the customer is emailed."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    values = {"carrier": carrier, "tracking_number": tracking_number}
    errors = {name: ["This field is required."] for name, value in values.items() if not value}
    if errors:
        raise ValidationError(details=errors)
    return _transition(order=order, name="ship", actor=actor, carrier=carrier, tracking_number=tracking_number)


def order_deliver(*, order: Order, actor: AbstractBaseUser | None = None) -> Order:
    """shipped → delivered."""
    return _transition(order=order, name="deliver", actor=actor)


def order_cancel(
    *, order: Order, actor: AbstractBaseUser | None = None, reason: str = "", by_customer: bool = False
) -> Order:
    """pending/confirmed/processing → cancelled; stock comes back once; the customer is emailed.

    ``by_customer``: the actor acts as the order's customer, who may cancel only
    their own pending order (``INVALID_TRANSITION`` otherwise).
    """
    return _transition(order=order, name="cancel", actor=actor, by_customer=by_customer, reason=reason)


def order_refund(*, order: Order, actor: AbstractBaseUser | None = None, reason: str = "") -> Order:
    """confirmed or later → refunded; payment marked refunded; stock comes back once."""
    return _transition(order=order, name="refund", actor=actor, reason=reason)


TRANSITION_SERVICES: dict[str, Callable[..., Order]] = {
    "confirm": order_confirm,
    "process": order_process,
    "ship": order_ship,
    "deliver": order_deliver,
    "cancel": order_cancel,
    "refund": order_refund,
}


@dataclass(frozen=True)
class RefundResult:
    """What a refund request did: the order, and the provider's refund record when money went back online.

    A refund of money paid online is asynchronous: the order turns ``refunded``
    when the provider reports the refund (billing's ``charge.refunded``).
    """

    order: Order
    payment_refund: Any | None = field(default=None)


def order_refund_request(
    *,
    actor: AbstractBaseUser,
    order: Order,
    reason: str = "",
    amount_cents: int | None = None,
    idempotency_key: str = "",
    permissions: frozenset[str] | None = None,
) -> RefundResult:
    """THE refund entry point of every door: staff only; money paid online goes back through the provider.

    Paid online (billing's provider says so): a full or partial
    (``amount_cents``) refund through the provider, the order following its
    report. Otherwise the ``refund`` transition (stock back once);
    ``amount_cents`` does not apply to it and is ignored.
    """
    policies.order_staff_require(user=actor, order=order, permissions=permissions)
    provider = payments.payment_refunds()
    if provider is not None and provider.paid_online(order):
        refund = provider.refund(
            actor=actor, order=order, amount_cents=amount_cents, reason=reason, idempotency_key=idempotency_key
        )
        return RefundResult(order=order, payment_refund=refund)
    return RefundResult(order=order_refund(order=order, actor=actor, reason=reason))


def order_transition(
    *,
    actor: AbstractBaseUser,
    order: Order,
    name: str,
    permissions: frozenset[str] | None = None,
    **arguments: Any,
) -> Order:
    """THE transition entry point of every door: decides staff vs customer, then runs the transition.

    Staff with ``change_orders`` make any transition the status allows; the
    order's customer may only cancel it while pending (``policies``); anyone
    else gets 403. ``refund`` goes through :func:`order_refund_request`, so money
    paid online goes back online whichever door asked.
    """
    if name not in TRANSITION_SERVICES:
        raise ValidationError(details={"transition": [f"Unknown transition {name!r}."]})
    if name == "refund":
        return order_refund_request(actor=actor, order=order, permissions=permissions, **arguments).order
    if policies.order_transition_as_customer(user=actor, order=order, name=name, permissions=permissions):
        arguments["by_customer"] = True
    return TRANSITION_SERVICES[name](order=order, actor=actor, **arguments)


def order_update(
    *,
    order: Order,
    data: Mapping[str, Any],
    actor: AbstractBaseUser | None = None,
    permissions: frozenset[str] | None = None,
) -> Order:
    """Change the staff-side fields (internal notes, metadata; staff with ``change_orders``); never the status.

    Not ``durable``: the admin's change form already runs in a transaction.
    """
    if actor is not None:
        policies.order_staff_require(user=actor, order=order, permissions=permissions)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        changes = model_update(instance=locked, fields=EDITABLE_FIELDS, data=data)
        if changes:
            record_and_publish(
                action=events.ORDER_UPDATED,
                resource_type="order",
                resource_id=locked.pk,
                organization=locked.organization_id,
                old_values=changes.old,
                new_values=changes.new,
                **({"actor": actor} if actor is not None else {}),
                event_type=events.ORDER_UPDATED,
                payload=_payload(locked, fields=changes.fields),
            )
    return locked


def order_email_send(*, order_id: uuid.UUID | str, kind: str) -> bool:
    """Email the customer about ``kind`` (confirmed, shipped, cancelled) once; False when nothing was sent.

    The order row is locked while sending and the kind recorded in the same
    transaction: a task that runs twice sends one email (a failed send rolls
    back and is retried). Orders whose customer account is gone are not mailed.
    Not ``durable``: with eager Celery (tests) the task runs inside the outbox dispatch.
    """
    from apps.orders.emails import send_order_email

    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("organization", "user")
            .filter(pk=order_id)
            .first()
        )
        if order is None or kind in order.emails_sent or order.user is None or not order.user.email:
            return False
        send_order_email(order=order, kind=kind, recipient=order.user.email)
        order.emails_sent = [*order.emails_sent, kind]
        order.save(update_fields=["emails_sent", "updated_at"])
    return True
