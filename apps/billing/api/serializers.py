"""Input and output serializers, kept apart; no business rules here."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.billing.models import BillingInterval, Feature, Invoice, Limit, Plan, Subscription


class PriceSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    available = serializers.BooleanField(help_text="Whether checkout sells this interval.")


class PricesSerializer(serializers.Serializer):
    month = PriceSerializer()
    year = PriceSerializer()


# One field per known limit / feature, so the schema names them.
LimitsSerializer = type(
    "LimitsSerializer",
    (serializers.Serializer,),
    {
        limit: serializers.IntegerField(allow_null=True, min_value=0, help_text="null: unlimited")
        for limit in Limit.values
    },
)
FeaturesSerializer = type(
    "FeaturesSerializer", (serializers.Serializer,), {feature: serializers.BooleanField() for feature in Feature.values}
)


class PlanOutputSerializer(serializers.ModelSerializer):
    prices = serializers.SerializerMethodField()
    features = serializers.ListField(child=serializers.ChoiceField(choices=Feature.choices))
    limits = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["code", "name", "description", "is_default", "prices", "features", "limits"]

    @extend_schema_field(PricesSerializer)
    def get_prices(self, plan: Plan) -> dict[str, Any]:
        return {
            interval: {
                "amount_cents": plan.price_cents(interval),
                "currency": plan.currency,
                "available": bool(plan.stripe_price(interval)),
            }
            for interval in BillingInterval.values
        }

    @extend_schema_field(LimitsSerializer)
    def get_limits(self, plan: Plan) -> dict[str, int | None]:
        return {limit: (plan.limits or {}).get(limit) for limit in Limit.values}


class PlanSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["code", "name"]


class SubscriptionOutputSerializer(serializers.ModelSerializer):
    plan = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan",
            "interval",
            "status",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "canceled_at",
            "ended_at",
        ]


class InvoiceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "currency",
            "amount_due_cents",
            "amount_paid_cents",
            "hosted_invoice_url",
            "period_start",
            "period_end",
            "paid_at",
            "stripe_created_at",
        ]


class UsageSerializer(serializers.Serializer):
    used = serializers.IntegerField(allow_null=True, help_text="null: not counted yet by this server.")
    limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")


UsageByLimitSerializer = type(
    "UsageByLimitSerializer", (serializers.Serializer,), {limit: UsageSerializer() for limit in Limit.values}
)


class BillingOverviewSerializer(serializers.Serializer):
    organization = serializers.UUIDField(source="organization.pk")
    plan = PlanSummarySerializer()
    subscription = SubscriptionOutputSerializer(allow_null=True)
    features = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()
    invoices = InvoiceOutputSerializer(many=True)

    @extend_schema_field(FeaturesSerializer)
    def get_features(self, overview: Any) -> dict[str, bool]:
        return overview.features

    @extend_schema_field(UsageByLimitSerializer)
    def get_usage(self, overview: Any) -> dict[str, Any]:
        return overview.usage


class CheckoutInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField()
    plan = serializers.SlugField(max_length=40, help_text="A plan code from GET billing/plans/.")
    interval = serializers.ChoiceField(choices=BillingInterval.choices)
    success_url = serializers.URLField(max_length=2000, help_text="Must be on BILLING_REDIRECT_HOSTS.")
    cancel_url = serializers.URLField(max_length=2000, help_text="Must be on BILLING_REDIRECT_HOSTS.")


class CheckoutOutputSerializer(serializers.Serializer):
    checkout_url = serializers.URLField(source="url", help_text="Send the customer here (Stripe Checkout).")
    session_id = serializers.CharField(source="stripe_session_id")


class PortalInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField()
    return_url = serializers.URLField(max_length=2000, help_text="Must be on BILLING_REDIRECT_HOSTS.")


class PortalOutputSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe billing portal for the organization's customer.")


class StripeWebhookOutputSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField(help_text="True when this event id was already stored (no second effect).")
