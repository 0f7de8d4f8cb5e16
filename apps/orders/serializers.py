"""Order input and output serializers, kept apart: inputs validate shapes, outputs translate rows."""

from rest_framework import serializers

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
    product = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderPlaceInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField()
    items = serializers.ListField(
        child=OrderLineInputSerializer(),
        min_length=1,
        max_length=MAX_LINES,
        help_text=f"1 to {MAX_LINES} lines; lines of one product are merged (at most {MAX_QUANTITY} in all).",
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


class OrderItemOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    product = serializers.UUIDField(source="product_id", allow_null=True, read_only=True)
    product_snapshot = ProductSnapshotSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price_cents = serializers.IntegerField(read_only=True)
    total_cents = serializers.IntegerField(read_only=True)
    fulfilled_quantity = serializers.IntegerField(read_only=True)


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
