"""Order input and output serializers, kept apart: inputs validate shapes, outputs translate rows."""

from rest_framework import serializers

from apps.orders.models import Order, OrderItem
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


class OrderItemOutputSerializer(serializers.ModelSerializer):
    product = serializers.UUIDField(source="product_id", allow_null=True, read_only=True)
    product_snapshot = ProductSnapshotSerializer(read_only=True)

    class Meta:
        model = OrderItem
        fields = (
            "id",
            "product",
            "product_snapshot",
            "quantity",
            "unit_price_cents",
            "total_cents",
            "fulfilled_quantity",
        )
        read_only_fields = fields


class OrderSummaryOutputSerializer(serializers.ModelSerializer):
    """An order as the reader may see it: ``internal_notes``, ``metadata`` and the payment intent for members only."""

    organization = serializers.UUIDField(source="organization_id", read_only=True)
    customer = serializers.UUIDField(source="user_id", allow_null=True, read_only=True)
    shipping_address = AddressSerializer(read_only=True)
    billing_address = AddressSerializer(read_only=True)

    class Meta:
        model = Order
        fields = (
            "id",
            "organization",
            "order_number",
            "status",
            "payment_status",
            "fulfillment_status",
            "customer",
            "customer_email",
            "subtotal_cents",
            "discount_cents",
            "tax_cents",
            "shipping_cents",
            "total_cents",
            "currency",
            "shipping_address",
            "billing_address",
            "customer_notes",
            "internal_notes",
            "metadata",
            "stripe_payment_intent_id",
            "carrier",
            "tracking_number",
            "cancel_reason",
            "confirmed_at",
            "shipped_at",
            "delivered_at",
            "cancelled_at",
            "refunded_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        extra_kwargs = {name: {"required": False} for name in MEMBER_ONLY_FIELDS}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.organization_id not in self.context.get("member_of", frozenset()):
            for name in MEMBER_ONLY_FIELDS:
                data.pop(name, None)
        return data


class OrderListOutputSerializer(OrderSummaryOutputSerializer):
    item_count = serializers.IntegerField(read_only=True)

    class Meta(OrderSummaryOutputSerializer.Meta):
        fields = (*OrderSummaryOutputSerializer.Meta.fields, "item_count")
        read_only_fields = fields


class OrderOutputSerializer(OrderSummaryOutputSerializer):
    items = OrderItemOutputSerializer(many=True, read_only=True)

    class Meta(OrderSummaryOutputSerializer.Meta):
        fields = (*OrderSummaryOutputSerializer.Meta.fields, "items")
        read_only_fields = fields
