"""Place an order: validate the lines, reserve stock, number it gaplessly, write order, items, audit and event.

Lock order is always products before the order-number counter (placement), so placement never deadlocks
with the transitions (order before products).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.audit.services import audit_entry
from apps.catalog.models import Product
from apps.catalog.selectors import VariantForSale, products_existing_in, variants_for_sale
from apps.catalog.services import stock_reserved
from apps.core import redis_writes
from apps.core.db import CompiledInsert, jsonb_with, pipeline
from apps.core.events import relay_after_commit
from apps.core.exceptions import ValidationError
from apps.core.models import OutboxEvent
from apps.entitlements import Limit, usage_period_start
from apps.entitlements import limit_check as plan_limit_check
from apps.orders import events
from apps.orders.errors import NotAcceptingOrders
from apps.orders.models import FIRST_ORDER_NUMBER, Order, OrderItem, OrderNumberSequence
from apps.orders.services._common import _audit_values, _payload
from apps.organizations.models import Organization

MAX_LINES = 100
MAX_QUANTITY = 1000
BASIS_POINTS = 10_000

# Foreign keys are not re-validated by full_clean here: the ids come from locked rows.
_CLEAN_EXCLUDE = ("organization", "user", "order", "product", "variant")


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


Line = tuple[str, uuid.UUID]  # ("variant", id) or ("product", id)


def merge_lines(items: Iterable[Mapping[str, Any]]) -> dict[Line, int]:
    """``[{variant | product, quantity}]`` → ``{(kind, id): quantity}`` in first-seen order, duplicates added up.

    A line names a ``variant``, or a ``product`` (allowed when it has a single
    variant). At most ``MAX_LINES`` lines; each quantity from 1 to ``MAX_QUANTITY``.
    """
    items = list(items)
    if not items:
        raise ValidationError(details={"items": ["Order at least one product."]})
    if len(items) > MAX_LINES:
        raise ValidationError(details={"items": [f"At most {MAX_LINES} lines per order."]})
    merged: dict[Line, int] = {}
    errors: list[str] = []
    for line in items:
        try:
            kind = "variant" if line.get("variant") else "product"
            ref = uuid.UUID(str(line[kind]))
            quantity = int(line["quantity"])
        except (KeyError, TypeError, ValueError, AttributeError):
            errors.append("Each line needs a variant (or product) id and a quantity.")
            continue
        if not 1 <= quantity <= MAX_QUANTITY:
            errors.append(f"Quantity of {ref} must be from 1 to {MAX_QUANTITY}.")
            continue
        merged[(kind, ref)] = merged.get((kind, ref), 0) + quantity
    if errors:
        raise ValidationError(details={"items": errors})
    return merged


class VariantRequired(ValidationError):
    """A line names a product that has several variants."""

    code = "VARIANT_REQUIRED"
    default_message = "Some lines name a product with several variants: name the variant."


def _sellable_variants(
    *, organization: Organization, lines: Mapping[Line, int]
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, VariantForSale]]:
    """The lines by variant id (merged) and their variants; 400 unless all are of active products of ours,
    priced in the organization's currency.

    A plain read, before any lock: a bad line is refused without touching
    stock, and another tenant's stock never shows in an error.
    """
    by_variant, by_product = variants_for_sale(
        organization_id=organization.pk,
        variant_ids=[ref for kind, ref in lines if kind == "variant"],
        product_ids=[ref for kind, ref in lines if kind == "product"],
    )
    quantities: dict[uuid.UUID, int] = {}
    variants: dict[uuid.UUID, VariantForSale] = {}
    unavailable: list[str] = []
    ambiguous: list[str] = []
    # Product lines matched by no single variant: the products that exist have several (one query for all).
    several = products_existing_in(
        organization.pk, [ref for kind, ref in lines if kind == "product" and ref not in by_product]
    )
    for (kind, ref), quantity in lines.items():
        variant = (by_variant if kind == "variant" else by_product).get(ref)
        if variant is None and kind == "product" and ref in several:
            ambiguous.append(f"Product {ref} has several variants: order one of them (`variant`).")
            continue
        if variant is None or variant.status != Product.Status.ACTIVE:
            unavailable.append(f"{kind.capitalize()} {ref} is not available from this organization.")
            continue
        variants[variant.id] = variant
        quantities[variant.id] = quantities.get(variant.id, 0) + quantity
    if ambiguous:
        raise VariantRequired(details={"items": ambiguous + unavailable})
    if unavailable:
        raise ValidationError("Some products cannot be ordered.", details={"items": unavailable})
    over = [
        f"Quantity of {pk} must be from 1 to {MAX_QUANTITY} (duplicate lines are added up)."
        for pk, q in quantities.items()
        if q > MAX_QUANTITY
    ]
    if over:
        raise ValidationError(details={"items": over})
    currencies = sorted({v.currency for v in variants.values()})
    expected = (organization.settings or {}).get("currency", "USD")
    if currencies != [expected]:
        raise ValidationError(
            "Products must share the organization's currency.",
            details={"items": [f"All products must be priced in {expected}; got {', '.join(currencies)}."]},
        )
    return quantities, variants


def _take_order_number(cursor: Any, organization_id: uuid.UUID, period_start: datetime) -> None:
    """Take the organization's next order number and count the order in this month's usage.

    Read ``(order_number, orders this month including this one)`` with
    ``cursor.fetchone()``. The counter row stays locked until the caller
    commits; a rollback gives back both the number and the usage. A new
    ``period_start`` (the month turned) restarts the count; a placement whose
    clock is still in the previous month counts into the newer one.
    """
    table = OrderNumberSequence._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} (organization_id, last_number, usage_period_start, usage_orders) "  # noqa: S608
        "VALUES (%s, %s, %s, 1) "
        f"ON CONFLICT (organization_id) DO UPDATE SET last_number = {table}.last_number + 1, "
        f"usage_orders = CASE WHEN {table}.usage_period_start >= EXCLUDED.usage_period_start "
        f"THEN {table}.usage_orders + 1 ELSE 1 END, "
        f"usage_period_start = GREATEST({table}.usage_period_start, EXCLUDED.usage_period_start) "
        "RETURNING last_number, usage_orders",
        [organization_id, FIRST_ORDER_NUMBER, period_start],
    )


def _current_order_number(organization_id: uuid.UUID) -> RawSQL:
    """The counter's value as SQL: after :func:`_take_order_number` in the same transaction, the number it took."""
    table = OrderNumberSequence._meta.db_table
    return RawSQL(  # noqa: S611 - a constant statement; the id is a parameter
        f"SELECT last_number FROM {table} WHERE organization_id = %s",  # noqa: S608 - our table name
        [organization_id],
        output_field=OrderNumberSequence._meta.get_field("last_number"),
    )


def _snapshot(variant: VariantForSale) -> dict[str, Any]:
    return {
        "id": str(variant.product_id),
        "name": variant.name,
        "slug": variant.slug,
        "sku": variant.sku,
        "price_cents": variant.price_cents,
        "currency": variant.currency,
        "attributes": variant.attributes,
        "variant_id": str(variant.id),
        "option_values": variant.option_values,
    }


def order_place(
    *,
    user: User,
    organization: Organization,
    items: Iterable[Mapping[str, Any]],
    shipping_address: Mapping[str, Any],
    billing_address: Mapping[str, Any] | None = None,
    customer_notes: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Order:
    """Place a pending order for ``user`` with ``organization``.

    Rules: each line names a variant, or a product with a single variant
    (else :class:`VariantRequired`); products active, of this organization,
    priced in its currency; 1-100 lines, quantities 1-1000, lines of one
    variant merged; a variant sells at its own price, else its product's.
    Stock of tracked variants is reserved for every line or none
    (:class:`InsufficientStock`, 409, lists what is available by variant). Totals: subtotal from the snapshots, tax at
    ``tax_rate_bps`` rounded half up once per order, flat shipping. The order,
    items, stock changes, audit entry and ``order.created`` event commit
    together. Prices and snapshots are those read just before the stock is
    locked (a price edited in that instant applies to the next order).

    Not ``durable``: the Idempotency-Key wrapper runs it inside its own
    transaction, so the order and the stored response commit together.
    """
    raw_lines = merge_lines(items)
    if organization.status != Organization.Status.ACTIVE or organization.deleted_at is not None:
        raise NotAcceptingOrders()
    if not shipping_address:
        raise ValidationError(details={"shipping_address": ["A shipping address is required."]})
    # The commit's Redis writes (the relay flag, the catalog version bump) leave in one round trip.
    with redis_writes.batched(), transaction.atomic(), pipeline():
        # Everything that needs no lock first: concurrent orders queue on the product
        # rows and on the counter row only for the few writes after them.
        lines, variants = _sellable_variants(organization=organization, lines=raw_lines)
        subtotal = sum(variants[pk].price_cents * quantity for pk, quantity in lines.items())
        totals = order_totals(subtotal_cents=subtotal, settings=organization.settings or {})
        order = Order(
            organization=organization,
            user=user,
            customer_email=getattr(user, "email", "") or "",
            currency=variants[next(iter(lines))].currency,
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
                product_id=variants[pk].product_id,
                variant_id=pk,
                position=position,
                product_snapshot=_snapshot(variants[pk]),
                quantity=quantity,
                unit_price_cents=variants[pk].price_cents,
                total_cents=variants[pk].price_cents * quantity,
            )
            for position, (pk, quantity) in enumerate(lines.items())
        ]
        audit_items = [
            {
                "product": str(i.product_id),
                "variant": str(i.variant_id),
                "quantity": i.quantity,
                "unit_price_cents": i.unit_price_cents,
            }
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
        new_values = cast(dict[str, Any], entry.new_values)
        payload = _payload(order, total_cents=order.total_cents, currency=order.currency)
        event = OutboxEvent(event_type=events.ORDER_CREATED, organization_id=organization.pk, payload=payload)
        number = _current_order_number(organization.pk)
        order.order_number = number
        entry.new_values = jsonb_with(new_values, order_number=number)
        event.payload = jsonb_with(payload, order_number=number)
        inserts = [CompiledInsert(order), CompiledInsert(entry), CompiledInsert(event)]
        # The items go in before the order row (their foreign key is checked at commit).
        CompiledInsert(*order_items).execute()
        period_start = usage_period_start(organization=organization)
        # Locks, in this order for every placement: variants (primary-key order), then the
        # counter, held until commit. The stock lines are checked after the writes below are
        # sent, so that the locked part is one round trip, then the commit.
        with connection.cursor() as counter:
            with stock_reserved(quantities=lines):
                _take_order_number(counter, organization.pk, period_start)
                for insert in inserts:
                    insert.execute()
                relay_after_commit(event)
                # The counter's row lock serializes an organization's placements, so the month's
                # count it returns is exact (O(1): no scan of the month's orders). Over the limit,
                # the raise rolls back the number, the count and the writes above.
                order_number, used = counter.fetchone()
                plan_limit_check(organization=organization, limit=Limit.ORDERS_PER_MONTH, current=int(used) - 1)
            order_number = int(order_number)
    order.order_number = new_values["order_number"] = payload["order_number"] = order_number
    entry.new_values, event.payload = new_values, payload
    _items_known(order, order_items)
    return order


def _items_known(order: Order, order_items: list[OrderItem]) -> None:
    """Give ``order.items.all()`` the rows just written, as ``prefetch_related`` would: no query to show them."""
    items = order.items.all()
    items._result_cache = order_items
    items._prefetch_done = True  # type: ignore[attr-defined]
    order._prefetched_objects_cache = {"items": items}
