from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from apps.analytics.selectors import Period


class PeriodInputSerializer(serializers.Serializer):
    """``from`` / ``to``: UTC dates, inclusive (default: the last 30 days); ``currency``: default the organization's."""

    from_ = serializers.DateField(required=False, help_text="First day (UTC), inclusive.")
    to = serializers.DateField(required=False, help_text="Last day (UTC), inclusive; default today.")
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="ISO 4217; default the organization's.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    # A period and the one before it must stay inside what dates can hold (no overflow at year 1 or 9999).
    EARLIEST = date(1900, 1, 1)
    LATEST = date(9999, 12, 30)

    def _in_range(self, value):
        if value is not None and not self.EARLIEST <= value <= self.LATEST:
            raise serializers.ValidationError(f"Must be between {self.EARLIEST} and {self.LATEST}.")
        return value

    def validate_from(self, value):
        return self._in_range(value)

    def validate_to(self, value):
        return self._in_range(value)

    def validate(self, attrs):
        end = attrs.get("to") or timezone.now().date()
        start = attrs.get("from") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"from": ["Must not be after 'to'."]})
        if (end - start).days + 1 > settings.ANALYTICS_MAX_RANGE_DAYS:
            raise serializers.ValidationError({"from": [f"At most {settings.ANALYTICS_MAX_RANGE_DAYS} days."]})
        return {"period": Period(start, end), "currency": attrs.get("currency")}


class TopProductOutputSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    product_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    sku = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()
    revenue_cents = serializers.IntegerField()


class DailyOutputSerializer(serializers.Serializer):
    day = serializers.DateField()
    currency = serializers.CharField()
    order_count = serializers.IntegerField()
    revenue_cents = serializers.IntegerField()
    average_order_cents = serializers.IntegerField()
    unique_customers = serializers.IntegerField()
    top_products = TopProductOutputSerializer(many=True)


class DailyListOutputSerializer(serializers.Serializer):
    results = DailyOutputSerializer(many=True)


class TotalsOutputSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    order_count = serializers.IntegerField()
    revenue_cents = serializers.IntegerField()
    average_order_cents = serializers.IntegerField()
    unique_customers = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class ChangeOutputSerializer(serializers.Serializer):
    absolute = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="null when the previous period was zero.")


class ChangesOutputSerializer(serializers.Serializer):
    order_count = ChangeOutputSerializer()
    revenue_cents = ChangeOutputSerializer()
    average_order_cents = ChangeOutputSerializer()
    unique_customers = ChangeOutputSerializer()


class SummaryOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    current = TotalsOutputSerializer()
    previous = TotalsOutputSerializer(help_text="The period of the same length just before.")
    change = ChangesOutputSerializer()
