"""Every write to orders: placement, the lifecycle transitions, notes, customer emails.

Each public service is one transaction holding the change, its audit entry and
its outbox event. Transitions lock the order row first (``SELECT ... FOR
UPDATE``), so two concurrent transitions of one order run one after the other
and the second sees the first's status. Lock order is always products before
the order-number counter (placement) and order before products (cancel,
refund): no cycle, no deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from apps.audit.services import audit_entry, record_and_publish
from apps.catalog.models import Product
from apps.catalog.selectors import ProductForSale, products_for_sale
from apps.catalog.services import stock_release, stock_reserved
from apps.core.db import CompiledInsert, jsonb_with, pipeline
from apps.core.events import relay_after_commit
from apps.core.exceptions import PermissionDenied, ValidationError
from apps.core.models import OutboxEvent
from apps.core.services import model_update
from apps.entitlements import Limit, usage_period_start
from apps.entitlements import limit_check as plan_limit_check
from apps.orders import events, payments, policies
from apps.orders.errors import InvalidTransition, NotAcceptingOrders
from apps.orders.models import FIRST_ORDER_NUMBER, Order, OrderItem, OrderNumberSequence
from apps.organizations.models import Organization

MAX_LINES = 100
MAX_QUANTITY = 1000
BASIS_POINTS = 10_000
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
# Foreign keys are not re-validated by full_clean here: the ids come from locked rows.
_CLEAN_EXCLUDE = ("organization", "user", "order", "product")


@dataclass(frozen=True)
class Totals:
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers (no floats)."""
    return (2 * numerator + denominator) // (2 * denominator)


def order_totals(*, subtotal_cents: int, settings: Mapping[str, Any], discount_cents: int = 0) -> Totals:
    """Tax at the organization's rate (basis points, rounded half up once per order) plus flat shipping."""
    taxable = subtotal_cents - discount_cents
    tax = divide_half_up(taxable * int(settings.get("tax_rate_bps", 0)), BASIS_POINTS)
    shipping = int(settings.get("flat_shipping_cents", 0))
    return Totals(subtotal_cents, discount_cents, tax, shipping, taxable + tax + shipping)


def merge_lines(items: Iterable[Mapping[str, Any]]) -> dict[uuid.UUID, int]:
    """``[{product, quantity}]`` → ``{product_id: quantity}`` in first-seen order, duplicates added up.

    At most ``MAX_LINES`` lines; each quantity, and each merged quantity, from 1 to ``MAX_QUANTITY``.
    """
    items = list(items)
    if not items:
        raise ValidationError(details={"items": ["Order at least one product."]})
    if len(items) > MAX_LINES:
        raise ValidationError(details={"items": [f"At most {MAX_LINES} lines per order."]})
    merged: dict[uuid.UUID, int] = {}
    errors: list[str] = []
    for line in items:
        try:
            product_id = uuid.UUID(str(line["product"]))
            quantity = int(line["quantity"])
        except (KeyError, TypeError, ValueError):
            errors.append("Each line needs a product id and a quantity.")
            continue
        if not 1 <= quantity <= MAX_QUANTITY:
            errors.append(f"Quantity of {product_id} must be from 1 to {MAX_QUANTITY}.")
            continue
        merged[product_id] = merged.get(product_id, 0) + quantity
    errors += [
        f"Quantity of {product_id} must be from 1 to {MAX_QUANTITY} (duplicate lines are added up)."
        for product_id, quantity in merged.items()
        if quantity > MAX_QUANTITY
    ]
    if errors:
        raise ValidationError(details={"items": errors})
    return merged


def _sellable_products(
    *, organization: Organization, lines: Mapping[uuid.UUID, int]
) -> dict[uuid.UUID, ProductForSale]:
    """The lines' products; 400 unless all are active, ours and priced in the organization's currency.

    A plain read, before any lock: a bad line is refused without touching
    stock, and another tenant's stock never shows in an error.
    """
    products = products_for_sale(organization_id=organization.pk, product_ids=list(lines))
    unavailable = [str(pk) for pk in lines if pk not in products or products[pk].status != Product.Status.ACTIVE]
    if unavailable:
        raise ValidationError(
            "Some products cannot be ordered.",
            details={"items": [f"Product {pk} is not available from this organization." for pk in unavailable]},
        )
    currencies = sorted({p.currency for p in products.values()})
    expected = (organization.settings or {}).get("currency", "USD")
    if currencies != [expected]:
        raise ValidationError(
            "Products must share the organization's currency.",
            details={"items": [f"All products must be priced in {expected}; got {', '.join(currencies)}."]},
        )
    return products


def _take_order_number(cursor: Any, organization_id: uuid.UUID) -> None:
    """Take the organization's next order number (read it with ``cursor.fetchone()``).

    The counter row stays locked until the caller commits.
    """
    table = OrderNumberSequence._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} (organization_id, last_number) VALUES (%s, %s) "  # noqa: S608 - our table name
        f"ON CONFLICT (organization_id) DO UPDATE SET last_number = {table}.last_number + 1 "
        "RETURNING last_number",
        [organization_id, FIRST_ORDER_NUMBER],
    )


def _current_order_number(organization_id: uuid.UUID) -> RawSQL:
    """The counter's value as SQL: after :func:`_take_order_number` in the same transaction, the number it took."""
    table = OrderNumberSequence._meta.db_table
    return RawSQL(  # noqa: S611 - a constant statement; the id is a parameter
        f"SELECT last_number FROM {table} WHERE organization_id = %s",  # noqa: S608 - our table name
        [organization_id],
        output_field=OrderNumberSequence._meta.get_field("last_number"),
    )


def _snapshot(product: ProductForSale) -> dict[str, Any]:
    return {
        "id": str(product.id),
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "price_cents": product.price_cents,
        "currency": product.currency,
        "attributes": product.attributes,
    }


def _audit_values(order: Order) -> dict[str, Any]:
    return {
        "order_number": order.order_number,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "cancel_reason": order.cancel_reason,
        "stock_returned_at": order.stock_returned_at,
    }


def _payload(order: Order, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": str(order.pk),
        "order_number": order.order_number,
        "user_id": str(order.user_id) if order.user_id else None,
        "status": order.status,
        **extra,
    }


def order_place(
    *,
    user: AbstractBaseUser,
    organization: Organization,
    items: Iterable[Mapping[str, Any]],
    shipping_address: Mapping[str, Any],
    billing_address: Mapping[str, Any] | None = None,
    customer_notes: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Order:
    """Place a pending order for ``user`` with ``organization``.

    Rules: products active, of this organization, priced in its currency;
    1-100 lines, quantities 1-1000, duplicate lines merged. Stock of tracked
    products is reserved for every line or none (:class:`InsufficientStock`,
    409, lists what is available). Totals: subtotal from the snapshots, tax at
    ``tax_rate_bps`` rounded half up once per order, flat shipping. The order,
    items, stock changes, audit entry and ``order.created`` event commit
    together. Prices and snapshots are those read just before the stock is
    locked (a price edited in that instant applies to the next order).

    Not ``durable``: the Idempotency-Key wrapper runs it inside its own
    transaction, so the order and the stored response commit together.
    """
    lines = merge_lines(items)
    if organization.status != Organization.Status.ACTIVE or organization.deleted_at is not None:
        raise NotAcceptingOrders()
    if not shipping_address:
        raise ValidationError(details={"shipping_address": ["A shipping address is required."]})
    with transaction.atomic(), pipeline():
        # Everything that needs no lock first: concurrent orders queue on the product
        # rows and on the counter row only for the few writes after them.
        products = _sellable_products(organization=organization, lines=lines)
        subtotal = sum(products[pk].price_cents * quantity for pk, quantity in lines.items())
        totals = order_totals(subtotal_cents=subtotal, settings=organization.settings or {})
        order = Order(
            organization=organization,
            user=user,
            customer_email=getattr(user, "email", "") or "",
            currency=products[next(iter(lines))].currency,
            shipping_address=dict(shipping_address),
            billing_address=dict(billing_address or shipping_address),
            customer_notes=customer_notes,
            metadata=dict(metadata or {}),
            **vars(totals),
        )
        order.full_clean(exclude=[*_CLEAN_EXCLUDE, "order_number"], validate_unique=False, validate_constraints=False)
        order_items = [
            OrderItem(
                order=order,
                product_id=pk,
                position=position,
                product_snapshot=_snapshot(products[pk]),
                quantity=quantity,
                unit_price_cents=products[pk].price_cents,
                total_cents=products[pk].price_cents * quantity,
            )
            for position, (pk, quantity) in enumerate(lines.items())
        ]
        audit_items = [
            {"product": str(i.product_id), "quantity": i.quantity, "unit_price_cents": i.unit_price_cents}
            for i in order_items
        ]
        # The order, its audit entry and its event are compiled now, before any lock: their
        # order number is a SQL expression that reads the counter row when they are inserted,
        # after the counter update below, so the locked part runs only precompiled statements.
        entry = audit_entry(
            action="order.created",
            resource_type="order",
            resource_id=order.pk,
            organization=organization,
            actor=user,
            new_values={**_audit_values(order), **vars(totals), "items": audit_items},
        )
        new_values = entry.new_values
        payload = _payload(order, total_cents=order.total_cents, currency=order.currency)
        event = OutboxEvent(event_type=events.ORDER_CREATED, organization_id=organization.pk, payload=payload)
        number = _current_order_number(organization.pk)
        order.order_number = number
        entry.new_values = jsonb_with(new_values, order_number=number)
        event.payload = jsonb_with(payload, order_number=number)
        inserts = [CompiledInsert(order), CompiledInsert(entry), CompiledInsert(event)]
        # The items go in before the order row (their foreign key is checked at commit).
        CompiledInsert(*order_items).execute()
        # Locks, in this order for every placement: products (primary-key order), then the
        # counter, held until commit. The stock lines are checked after the writes below are
        # sent, so that the locked part is one round trip, then the commit.
        with connection.cursor() as counter:
            with stock_reserved(quantities=lines):
                _take_order_number(counter, organization.pk)
                # The counter's row lock serializes an organization's placements, so this count is exact.
                plan_limit_check(
                    organization=organization,
                    limit=Limit.ORDERS_PER_MONTH,
                    current=lambda: Order.objects.filter(
                        organization=organization, created_at__gte=usage_period_start(organization=organization)
                    ).count(),
                )
                for insert in inserts:
                    insert.execute()
                relay_after_commit(event)
            order_number = int(counter.fetchone()[0])
    order.order_number = new_values["order_number"] = payload["order_number"] = order_number
    entry.new_values, event.payload = new_values, payload
    return order


# --- the lifecycle -----------------------------------------------------------------


def _return_stock(order: Order) -> None:
    """Give the order's reserved stock back, once: ``stock_returned_at`` is set under the row lock."""
    if order.stock_returned_at is not None:
        return
    quantities = {item.product_id: item.quantity for item in order.items.all() if item.product_id is not None}
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


# --- payment (reported by billing) ----------------------------------------------------

# Where a payment status may go next: a captured payment never turns back into failed,
# and a refunded one stays refunded (the refund transition sets that).
PAYMENT_STATUS_NEXT = {
    Order.PaymentStatus.PENDING: {"authorized", "captured", "failed"},
    Order.PaymentStatus.FAILED: {"authorized", "captured", "failed"},
    Order.PaymentStatus.AUTHORIZED: {"captured", "failed"},
    Order.PaymentStatus.CAPTURED: {"refunded"},
    Order.PaymentStatus.REFUNDED: set(),
}


def order_payment_update(
    *,
    order: Order,
    payment_status: str | None = None,
    stripe_payment_intent_id: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> Order:
    """Record what the payment provider says about the order's payment; never the lifecycle ``status``.

    Billing calls it from Stripe's webhooks: ``payment_status`` moves only
    forward (``PAYMENT_STATUS_NEXT``), so a late or repeated event changes
    nothing. Confirming a paid order is :func:`order_confirm`; a full refund is
    :func:`order_refund`. Not ``durable``: it nests in the caller's transaction.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        data: dict[str, Any] = {}
        if stripe_payment_intent_id is not None:
            data["stripe_payment_intent_id"] = stripe_payment_intent_id
        if payment_status is not None and payment_status in PAYMENT_STATUS_NEXT[locked.payment_status]:
            data["payment_status"] = payment_status
        changes = model_update(instance=locked, fields=("payment_status", "stripe_payment_intent_id"), data=data)
        if changes:
            record_and_publish(
                action=events.ORDER_PAYMENT_UPDATED,
                resource_type="order",
                resource_id=locked.pk,
                organization=locked.organization_id,
                old_values=changes.old,
                new_values=changes.new,
                **({"actor": actor} if actor is not None else {}),
                event_type=events.ORDER_PAYMENT_UPDATED,
                payload=_payload(locked, payment_status=locked.payment_status, fields=changes.fields),
            )
    return locked


# --- customer emails -----------------------------------------------------------------


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
