import django_filters

from apps.core.fields import IsoDateTimeFilter
from apps.orders.models import Order
from apps.orders.selectors import apply_search


class OrderFilter(django_filters.FilterSet):
    organization = django_filters.UUIDFilter(field_name="organization_id", help_text="Organization id.")
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    payment_status = django_filters.ChoiceFilter(choices=Order.PaymentStatus.choices)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="ISO 8601; inclusive.")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="ISO 8601; exclusive.")
    user = django_filters.UUIDFilter(field_name="user_id", help_text="The customer's user id.")
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Order number, or part of the customer's email."
    )

    class Meta:
        model = Order
        fields = ("organization", "status", "payment_status", "created_after", "created_before", "user", "search")

    def filter_search(self, queryset, name, value):
        return apply_search(queryset, value) if value.strip() else queryset
