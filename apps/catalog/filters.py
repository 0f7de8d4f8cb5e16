import django_filters
from django.db.models import Exists, OuterRef, Q

from apps.catalog.models import Product, ProductVariant
from apps.catalog.selectors import apply_search, products_in_category, resolve_organization
from apps.core.fields import BooleanFilter, IntegerFilter


class ProductFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(method="filter_organization", help_text="Organization id or slug.")
    status = django_filters.ChoiceFilter(choices=Product.Status.choices)
    min_price = IntegerFilter(field_name="price_cents", lookup_expr="gte", help_text="Cents, inclusive.")
    max_price = IntegerFilter(field_name="price_cents", lookup_expr="lte", help_text="Cents, inclusive.")
    in_stock = BooleanFilter(method="filter_in_stock")
    sku = django_filters.CharFilter(method="filter_sku", help_text="Products with a variant of this SKU.")
    category = django_filters.UUIDFilter(
        method="filter_category", help_text="A category id: its products and those of every category below it."
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Full-text (websearch syntax: name, description, SKUs), newest matches first; "
        "when nothing matches, names like it (typos), most similar first.",
    )

    class Meta:
        model = Product
        fields = ("organization", "status", "min_price", "max_price", "in_stock", "sku", "category", "search")

    def filter_organization(self, queryset, name, value):
        organization = resolve_organization(value)
        if organization is None:
            return queryset.none()
        return queryset.filter(organization=organization)

    def filter_in_stock(self, queryset, name, value):
        # Any variant can be sold.
        available = Exists(
            ProductVariant.objects.filter(product=OuterRef("pk")).filter(
                Q(track_inventory=False) | Q(allow_backorder=True) | Q(inventory_quantity__gt=0)
            )
        )
        return queryset.filter(available) if value else queryset.exclude(available)

    def filter_sku(self, queryset, name, value):
        return queryset.filter(Exists(ProductVariant.objects.filter(product=OuterRef("pk"), sku=value)))

    def filter_search(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset: its typo fallback asks what the other filters leave

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        search = self.form.cleaned_data.get("search") or ""
        return apply_search(queryset, search) if search.strip() else queryset

    def filter_category(self, queryset, name, value):
        return products_in_category(queryset, value)
