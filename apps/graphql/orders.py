"""Orders: ``orders``, ``order``, ``placeOrder`` (with an idempotency key) and the lifecycle transitions.

Reads go through ``apps.orders.selectors`` (members: their organizations'
orders; everyone: the orders they placed) and REST's ``OrderFilter``; writes
call ``apps.orders.services`` with REST's input serializers and permission
rule (``change_orders``; a customer may cancel their own pending order).
``idempotencyKey`` runs placement through ``apps.core.idempotency`` like the
REST ``Idempotency-Key`` header.
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

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, ValidationError
from apps.core.idempotency import MAX_KEY_LENGTH, REPLAYED_HEADER, idempotent_call
from apps.graphql.common import BigInt, DjangoCursorConnection, get_one, page_connection
from apps.graphql.context import GraphQLContext, context_of
from apps.graphql.inputs import provided, validated
from apps.orders import policies, selectors, services
from apps.orders.filters import OrderFilter
from apps.orders.models import Order, OrderItem
from apps.orders.serializers import (
    OrderPlaceInputSerializer,
    OrderReasonInputSerializer,
    OrderShipInputSerializer,
    RefundInputSerializer,
)

if TYPE_CHECKING:
    from apps.graphql.catalog import ProductType
    from apps.graphql.organizations import OrganizationType

MEMBERS_ONLY = "Members of the order's organization only; null for the customer."
PLACE_ORDER_ENDPOINT = "GRAPHQL placeOrder"
REFUND_ORDER_ENDPOINT = "GRAPHQL refundOrder"


@strawberry.enum(description="Where the order is in its lifecycle.")
class OrderStatus(enum.Enum):
    DRAFT = Order.Status.DRAFT.value
    PENDING = Order.Status.PENDING.value
    CONFIRMED = Order.Status.CONFIRMED.value
    PROCESSING = Order.Status.PROCESSING.value
    SHIPPED = Order.Status.SHIPPED.value
    DELIVERED = Order.Status.DELIVERED.value
    CANCELLED = Order.Status.CANCELLED.value
    REFUNDED = Order.Status.REFUNDED.value


@strawberry.enum
class OrderPaymentStatus(enum.Enum):
    PENDING = Order.PaymentStatus.PENDING.value
    AUTHORIZED = Order.PaymentStatus.AUTHORIZED.value
    CAPTURED = Order.PaymentStatus.CAPTURED.value
    FAILED = Order.PaymentStatus.FAILED.value
    REFUNDED = Order.PaymentStatus.REFUNDED.value


@strawberry.enum
class OrderFulfillmentStatus(enum.Enum):
    UNFULFILLED = Order.FulfillmentStatus.UNFULFILLED.value
    FULFILLED = Order.FulfillmentStatus.FULFILLED.value
    DELIVERED = Order.FulfillmentStatus.DELIVERED.value
    RESTOCKED = Order.FulfillmentStatus.RESTOCKED.value


@strawberry.enum(description="List order (REST's `ordering`).")
class OrderOrdering(enum.Enum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    NUMBER = "order_number"
    NUMBER_DESC = "-order_number"
    TOTAL = "total_cents"
    TOTAL_DESC = "-total_cents"


def _member(root: Order, info: Info) -> bool:
    return root.organization_id in context_of(info).member_of


@strawberry_django.type(User, name="Customer", description="The user who placed an order.")
class CustomerType:
    id: UUID
    email: str
    full_name: str
    display_name: str


@strawberry_django.type(OrderItem, name="OrderItem", description="One line: the product as it was sold.")
class OrderItemType:
    id: UUID
    position: int
    quantity: int
    unit_price_cents: BigInt
    total_cents: BigInt
    fulfilled_quantity: int
    product_snapshot: JSON = strawberry_django.field(description="id, name, slug, sku, price and attributes as sold.")
    product: Annotated[ProductType, strawberry.lazy("apps.graphql.catalog")] | None = strawberry_django.field(
        description="The product as it is now, if the caller may still see it (deleted or hidden: null)."
    )

    @strawberry_django.field
    def product_id(self, root: OrderItem) -> UUID | None:
        return root.product_id

    @strawberry_django.field(only=["variant_id"], description="The variant sold (null on lines sold before variants).")
    def variant_id(self, root: OrderItem) -> UUID | None:
        return root.variant_id


@strawberry_django.type(Order, name="Order", description="A customer's order with one organization.")
class OrderType:
    id: UUID
    order_number: int
    status: OrderStatus
    payment_status: OrderPaymentStatus
    fulfillment_status: OrderFulfillmentStatus
    customer_email: str
    subtotal_cents: BigInt
    discount_cents: BigInt
    tax_cents: BigInt
    shipping_cents: BigInt
    total_cents: BigInt
    currency: str
    shipping_address: JSON
    billing_address: JSON
    customer_notes: str
    carrier: str
    tracking_number: str
    cancel_reason: str
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    created_at: datetime
    updated_at: datetime
    items: list[OrderItemType] = strawberry_django.field(description="The lines, in the order they were placed.")
    user: CustomerType | None = strawberry_django.field(description="The customer (null once their account is gone).")
    organization: Annotated[OrganizationType, strawberry.lazy("apps.graphql.organizations")] | None = (
        strawberry_django.field(description="Members of the organization only; null for the customer.")
    )

    @strawberry_django.field
    def organization_id(self, root: Order) -> UUID:
        return root.organization_id

    @strawberry_django.field(description=MEMBERS_ONLY)
    def internal_notes(self, root: Order, info: Info) -> str | None:
        return root.internal_notes if _member(root, info) else None

    @strawberry_django.field(description=MEMBERS_ONLY)
    def metadata(self, root: Order, info: Info) -> JSON | None:
        return root.metadata if _member(root, info) else None

    @strawberry_django.field(description=MEMBERS_ONLY)
    def stripe_payment_intent_id(self, root: Order, info: Info) -> str | None:
        return root.stripe_payment_intent_id if _member(root, info) else None

    @strawberry_django.field(description="Transitions the caller may make now (cancelOrder → `cancel`, ...).")
    def allowed_transitions(self, root: Order, info: Info) -> list[str]:
        context = context_of(info)
        organization = context.my_organizations.get(root.organization_id)
        permissions = context.permissions(organization) if organization is not None else frozenset()
        return policies.order_allowed_transitions(user=context.user, order=root, permissions=permissions)

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Order], info: Info, **kwargs: Any) -> QuerySet[Order]:
        # Whatever the path (the list, an organization's orders): only what the orders selector lets the caller see.
        context = context_of(info)
        return queryset & selectors.visible_orders(user=context.user, member_of=context.member_of)


# --- inputs ------------------------------------------------------------------------------------------


@strawberry.input(description="A `variantId`, or a `productId` of a product with a single variant.")
class OrderLineInput:
    quantity: int
    variant_id: UUID | None = strawberry.UNSET
    product_id: UUID | None = strawberry.UNSET


@strawberry.input(description="A postal address; `country` is an ISO 3166-1 alpha-2 code.")
class AddressInput:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    company: str | None = strawberry.UNSET
    line2: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET


@strawberry.input
class PlaceOrderInput:
    organization_id: UUID
    items: list[OrderLineInput] = strawberry.field(description="1 to 100 lines; lines of one variant are merged.")
    shipping_address: AddressInput
    billing_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the shipping address."
    )
    customer_notes: str | None = strawberry.UNSET


class StoredError(ApplicationError):
    """An error answer stored under an idempotency key, raised again on replay."""

    def __init__(self, status: int, envelope: dict[str, Any]) -> None:
        self.code = envelope.get("code", "ERROR")
        self.http_status = status
        super().__init__(envelope.get("message"), details=envelope.get("details") or {})


def _place_data(input: PlaceOrderInput) -> dict[str, Any]:  # noqa: A002
    raw = provided(input)
    raw["organization"] = raw.pop("organization_id")  # REST's field names
    raw["items"] = [
        {
            **({"variant": line["variant_id"]} if line.get("variant_id") else {}),
            **({"product": line["product_id"]} if line.get("product_id") else {}),
            "quantity": line["quantity"],
        }
        for line in raw["items"]
    ]
    return raw


def _place(context: GraphQLContext, raw: dict[str, Any]) -> Order:
    data = validated(OrderPlaceInputSerializer, raw)
    organization = selectors.organization_for_ordering(organization_id=data["organization"])
    return services.order_place(
        user=context.user,
        organization=organization,
        items=data["items"],
        shipping_address=data["shipping_address"],
        billing_address=data.get("billing_address"),
        customer_notes=data.get("customer_notes", ""),
    )


def _order_for(context: GraphQLContext, order_id: UUID) -> Order:
    return selectors.order_get(user=context.require_user(), order_id=order_id, member_of=context.member_of)


def _order_to_act_on(context: GraphQLContext, order_id: UUID) -> tuple[Order, frozenset[str]]:
    """The order (any the caller may see, in any of their organizations) and the caller's permissions on it.

    A member of an organization whose plan lacks GraphQL gets FEATURE_NOT_IN_PLAN, unless the order is
    their own (then they act as its customer).
    """
    user = context.require_user()
    order = selectors.order_get(user=user, order_id=order_id, member_of=frozenset(context.all_my_organizations))
    if order.user_id != user.pk:
        context.member_access_require(order.organization)
    organization = context.my_organizations.get(order.organization_id)
    return order, context.permissions(organization) if organization is not None else frozenset()


def _transition(info: Info, order_id: UUID, name: str, **arguments: Any) -> Order:
    """Load the order the caller may see; ``services.order_transition`` decides who may move it."""
    context = context_of(info)
    order, permissions = _order_to_act_on(context, order_id)
    return services.order_transition(actor=context.user, order=order, name=name, permissions=permissions, **arguments)


# --- root fields ---------------------------------------------------------------------------------------


@strawberry.type
class OrdersQuery:
    @page_connection(
        DjangoCursorConnection[OrderType] | None,
        description="Orders the caller may see (customers: their own; members: their organizations'), with "
        "REST's filters.",
    )
    def orders(
        self,
        info: Info,
        organization: UUID | None = None,
        status: OrderStatus | None = None,
        payment_status: OrderPaymentStatus | None = None,
        created_after: Annotated[datetime | None, strawberry.argument(description="Inclusive.")] = None,
        created_before: Annotated[datetime | None, strawberry.argument(description="Exclusive.")] = None,
        user: Annotated[UUID | None, strawberry.argument(description="The customer's user id.")] = None,
        search: Annotated[str | None, strawberry.argument(description="Order number or part of an email.")] = None,
        ordering: OrderOrdering | None = None,
    ) -> QuerySet[Order]:
        context = context_of(info)
        arguments = {
            "organization": organization,
            "status": status,
            "payment_status": payment_status,
            "created_after": created_after.isoformat() if created_after else None,
            "created_before": created_before.isoformat() if created_before else None,
            "user": user,
            "search": search,
        }
        filterset = OrderFilter(
            {name: provided(value) for name, value in arguments.items() if value is not None},
            queryset=selectors.visible_orders(user=context.require_user(), member_of=context.member_of),
        )
        if not filterset.is_valid():
            raise ValidationError(details=dict(filterset.errors))
        return filterset.qs.order_by((ordering or OrderOrdering.NEWEST).value, "-id")

    @strawberry_django.field(description="An order the caller may see, with its items; NOT_FOUND otherwise.")
    def order(self, info: Info, id: UUID) -> OrderType | None:  # noqa: A002
        context = context_of(info)
        queryset = selectors.visible_orders(user=context.require_user(), member_of=context.member_of).filter(pk=id)
        return get_one(queryset, info, message="Order not found.")  # type: ignore[return-value]


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(
        description="Place a pending order; stock is reserved for every line or none (INSUFFICIENT_STOCK lists "
        "what is left). `idempotencyKey` behaves like REST's Idempotency-Key: the same key and input within 24 h "
        "return the first order (or error) again; the same key with another input is IDEMPOTENCY_KEY_REUSED."
    )
    def place_order(
        self,
        info: Info,
        input: PlaceOrderInput,  # noqa: A002
        idempotency_key: str | None = None,
    ) -> OrderType | None:
        context = context_of(info)
        user = context.require_user()
        raw = _place_data(input)
        if idempotency_key is None:
            return _place(context, raw)  # type: ignore[return-value]
        key = idempotency_key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValidationError(details={"idempotency_key": [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})

        def call() -> tuple[int, Any]:
            return 201, {"order_id": str(_place(context, raw).pk)}

        result = idempotent_call(user_id=user.pk, key=key, endpoint=PLACE_ORDER_ENDPOINT, body=raw, call=call)
        context.response[REPLAYED_HEADER] = "true" if result.replayed else "false"
        if result.status >= 400:
            raise StoredError(result.status, result.body["error"])
        return _order_for(context, result.body["order_id"])  # type: ignore[return-value]

    @strawberry.mutation(description="pending → confirmed; the customer is emailed (change_orders).")
    def confirm_order(self, info: Info, id: UUID) -> OrderType | None:  # noqa: A002
        return _transition(info, id, "confirm")  # type: ignore[return-value]

    @strawberry.mutation(description="confirmed → processing (change_orders).")
    def process_order(self, info: Info, id: UUID) -> OrderType | None:  # noqa: A002
        return _transition(info, id, "process")  # type: ignore[return-value]

    @strawberry.mutation(description="processing → shipped; the customer is emailed (change_orders).")
    def ship_order(self, info: Info, id: UUID, carrier: str, tracking_number: str) -> OrderType | None:  # noqa: A002
        data = validated(OrderShipInputSerializer, {"carrier": carrier, "tracking_number": tracking_number})
        return _transition(info, id, "ship", **data)  # type: ignore[return-value]

    @strawberry.mutation(description="shipped → delivered (change_orders).")
    def deliver_order(self, info: Info, id: UUID) -> OrderType | None:  # noqa: A002
        return _transition(info, id, "deliver")  # type: ignore[return-value]

    @strawberry.mutation(
        description="Cancel (change_orders; a customer: their own pending order); stock comes back once."
    )
    def cancel_order(self, info: Info, id: UUID, reason: str = "") -> OrderType | None:  # noqa: A002
        data = validated(OrderReasonInputSerializer, {"reason": reason})
        return _transition(info, id, "cancel", **data)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Refund a confirmed or later order (change_orders). Paid through Stripe: a full or partial "
        "(`amountCents`) Stripe refund; the order turns refunded when Stripe reports it. Otherwise the refund "
        "transition; stock comes back once. `idempotencyKey`: the same key and input never refund twice."
    )
    def refund_order(
        self,
        info: Info,
        id: UUID,  # noqa: A002
        reason: str = "",
        amount_cents: int | None = None,
        idempotency_key: str | None = None,
    ) -> OrderType | None:
        context = context_of(info)
        user = context.require_user()
        raw = {"reason": reason, **({"amount_cents": amount_cents} if amount_cents is not None else {})}
        data = validated(RefundInputSerializer, raw)
        key = (idempotency_key or "").strip()

        def refund() -> tuple[int, Any]:
            order, permissions = _order_to_act_on(context, id)
            services.order_refund_request(
                actor=user,
                order=order,
                reason=data["reason"],
                amount_cents=data.get("amount_cents"),
                idempotency_key=key,
                permissions=permissions,
            )
            return 200, {"order_id": str(order.pk)}

        if idempotency_key is None:
            refund()
        else:
            if not key or len(key) > MAX_KEY_LENGTH:
                raise ValidationError(details={"idempotency_key": [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})
            body = {"order_id": str(id), **raw}
            result = idempotent_call(user_id=user.pk, key=key, endpoint=REFUND_ORDER_ENDPOINT, body=body, call=refund)
            context.response[REPLAYED_HEADER] = "true" if result.replayed else "false"
            if result.status >= 400:
                raise StoredError(result.status, result.body["error"])
        return _order_to_act_on(context, id)[0]  # type: ignore[return-value]
