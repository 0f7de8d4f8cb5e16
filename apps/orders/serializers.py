"""Order input and output serializers, kept apart: inputs validate shapes, outputs translate rows."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from apps.core.fields import FieldsOncePerThread
from apps.orders.models import Order
from apps.orders.services import MAX_LINES, MAX_QUANTITY

# Seen only by members of the order's organization.
MEMBER_ONLY_FIELDS = ("internal_notes", "metadata", "stripe_payment_intent_id")


class AddressSerializer(serializers.Serializer):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code. Unknown keys are refused."""

    name = serializers.CharField(max_length=200)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(
        r"^[A-Z]{2}$", error_messages={"invalid": "Use a 2-letter ISO 3166-1 country code, e.g. US."}
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)

    openapi_extra = {"additionalProperties": False}  # unknown fields are refused

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


# --- inputs ----------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    # One of the two: the placement service's rule (400 naming the line without either).
    variant = serializers.UUIDField(required=False, help_text="The variant to buy.")
    product = serializers.UUIDField(
        required=False, help_text="Instead of `variant`, for a product with a single variant (else VARIANT_REQUIRED)."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderPlaceInputSerializer(FieldsOncePerThread, serializers.Serializer):
    organization = serializers.UUIDField()
    items = serializers.ListField(
        child=OrderLineInputSerializer(),
        min_length=1,
        max_length=MAX_LINES,
        help_text=f"1 to {MAX_LINES} lines; lines of one variant are merged (at most {MAX_QUANTITY} in all).",
    )
    shipping_address = AddressSerializer()
    billing_address = AddressSerializer(required=False, allow_null=True, help_text="Defaults to the shipping address.")
    customer_notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OrderShipInputSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=100)
    tracking_number = serializers.CharField(max_length=100)


class OrderReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderUpdateInputSerializer(serializers.Serializer):
    internal_notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    metadata = serializers.DictField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change.")
        return attrs


# --- outputs ---------------------------------------------------------------------------


class ProductSnapshotSerializer(serializers.Serializer):
    """The product as it was sold."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    sku = serializers.CharField()
    price_cents = serializers.IntegerField()
    currency = serializers.CharField()
    attributes = serializers.DictField()
    variant_id = serializers.UUIDField(
        required=False, help_text="The variant sold (absent on lines sold before variants)."
    )
    option_values = serializers.DictField(required=False, help_text="The variant's options as sold.")


class OrderItemOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    product = serializers.UUIDField(source="product_id", allow_null=True, read_only=True)
    variant = serializers.UUIDField(source="variant_id", allow_null=True, read_only=True)
    product_snapshot = ProductSnapshotSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price_cents = serializers.IntegerField(read_only=True)
    total_cents = serializers.IntegerField(read_only=True)
    fulfilled_quantity = serializers.IntegerField(read_only=True)


def _variant_snapshot(snapshot: dict) -> dict[str, Any]:
    """The snapshot's variant keys, when it has them (lines sold before variants do not)."""
    out: dict[str, Any] = {}
    if "variant_id" in snapshot:
        out["variant_id"] = _text(snapshot["variant_id"])
    if "option_values" in snapshot:
        out["option_values"] = {str(k): v for k, v in snapshot["option_values"].items()}
    return out


# Plain serializers, not ModelSerializers: building a ModelSerializer's fields on every response
# costs more than the rest of the rendering.
class OrderSummaryOutputSerializer(serializers.Serializer):
    """An order as the reader may see it: ``internal_notes``, ``metadata`` and the payment intent for members only."""

    id = serializers.UUIDField(read_only=True)
    organization = serializers.UUIDField(source="organization_id", read_only=True)
    order_number = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Order.Status.choices, read_only=True)
    payment_status = serializers.ChoiceField(choices=Order.PaymentStatus.choices, read_only=True)
    fulfillment_status = serializers.ChoiceField(choices=Order.FulfillmentStatus.choices, read_only=True)
    customer = serializers.UUIDField(source="user_id", allow_null=True, read_only=True)
    customer_email = serializers.EmailField(read_only=True)
    subtotal_cents = serializers.IntegerField(read_only=True)
    discount_cents = serializers.IntegerField(read_only=True)
    tax_cents = serializers.IntegerField(read_only=True)
    shipping_cents = serializers.IntegerField(read_only=True)
    total_cents = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(read_only=True)
    shipping_address = AddressSerializer(read_only=True)
    billing_address = AddressSerializer(read_only=True)
    customer_notes = serializers.CharField(read_only=True)
    # Output only; not read_only so that the schema does not list them as always present.
    internal_notes = serializers.CharField(required=False, help_text="Members only.")
    metadata = serializers.DictField(required=False, help_text="Members only.")
    stripe_payment_intent_id = serializers.CharField(required=False, help_text="Members only.")
    carrier = serializers.CharField(read_only=True)
    tracking_number = serializers.CharField(read_only=True)
    cancel_reason = serializers.CharField(read_only=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    refunded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.organization_id not in self.context.get("member_of", frozenset()):
            for name in MEMBER_ONLY_FIELDS:
                data.pop(name, None)
        return data


class OrderListOutputSerializer(OrderSummaryOutputSerializer):
    item_count = serializers.IntegerField(read_only=True)


class OrderOutputSerializer(OrderSummaryOutputSerializer):
    items = OrderItemOutputSerializer(many=True, read_only=True)


class RefundInputSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField(
        min_value=1, required=False, help_text="Paid through Stripe: omit for a full refund. Otherwise ignored."
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundOutputSerializer(serializers.Serializer):
    """A refund asked of the payment provider (billing's refund record)."""

    id = serializers.UUIDField()
    order = serializers.UUIDField(source="payment.order_id")
    stripe_refund_id = serializers.CharField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


# --- the placement response, shaped by hand ---------------------------------------------

_ADDRESS_FIELDS = tuple(AddressSerializer().fields)


def _datetime(value: datetime | None) -> str | None:
    """DRF's ``DateTimeField`` output: ISO 8601 in the current time zone, ``Z`` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _text(value: Any) -> str | None:
    """DRF's ``CharField`` output (``None`` stays ``None``)."""
    return None if value is None else str(value)


def _address(value: dict[str, Any]) -> dict[str, Any]:
    return {name: _text(value[name]) for name in _ADDRESS_FIELDS if name in value}


def order_output(order: Order, *, member: bool) -> dict[str, Any]:
    """What :class:`OrderOutputSerializer` gives for ``order``, without building serializer fields.

    For the placement response (``POST /orders/``), the hottest write: DRF
    deep-copies every declared field of the three nested serializers per
    response, which cost about as much as the placement's own Python. A test
    holds the two equal (member and customer, with and without optional fields).
    ``member``: the reader belongs to the order's organization.
    """
    data: dict[str, Any] = {
        "id": str(order.id),
        "organization": str(order.organization_id),
        "order_number": order.order_number,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "customer": str(order.user_id) if order.user_id else None,
        "customer_email": order.customer_email,
        "subtotal_cents": order.subtotal_cents,
        "discount_cents": order.discount_cents,
        "tax_cents": order.tax_cents,
        "shipping_cents": order.shipping_cents,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "customer_notes": order.customer_notes,
        "internal_notes": order.internal_notes,
        "metadata": order.metadata,
        "stripe_payment_intent_id": order.stripe_payment_intent_id,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "cancel_reason": order.cancel_reason,
        "confirmed_at": _datetime(order.confirmed_at),
        "shipped_at": _datetime(order.shipped_at),
        "delivered_at": _datetime(order.delivered_at),
        "cancelled_at": _datetime(order.cancelled_at),
        "refunded_at": _datetime(order.refunded_at),
        "created_at": _datetime(order.created_at),
        "updated_at": _datetime(order.updated_at),
        "items": [
            {
                "id": str(item.id),
                "product": str(item.product_id) if item.product_id else None,
                "variant": str(item.variant_id) if item.variant_id else None,
                "product_snapshot": {
                    "id": _text(item.product_snapshot["id"]),
                    "name": _text(item.product_snapshot["name"]),
                    "slug": _text(item.product_snapshot["slug"]),
                    "sku": _text(item.product_snapshot["sku"]),
                    "price_cents": int(item.product_snapshot["price_cents"]),
                    "currency": _text(item.product_snapshot["currency"]),
                    "attributes": {str(k): v for k, v in item.product_snapshot["attributes"].items()},
                    **_variant_snapshot(item.product_snapshot),
                },
                "quantity": item.quantity,
                "unit_price_cents": item.unit_price_cents,
                "total_cents": item.total_cents,
                "fulfilled_quantity": item.fulfilled_quantity,
            }
            for item in order.items.all()
        ],
    }
    if not member:
        for name in MEMBER_ONLY_FIELDS:
            del data[name]
    return data
