from django.contrib import admin, messages
from django.db.models import QuerySet

from apps.catalog import services
from apps.catalog.models import Product
from apps.core.money import money_display


class DeletedFilter(admin.SimpleListFilter):
    """Soft-deleted products are hidden unless staff ask for them."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "Not deleted"), ("yes", "Deleted"), ("all", "All"))

    def choices(self, changelist):
        value = self.value() or "no"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "no"
        if value == "no":
            return queryset.filter(deleted_at__isnull=True)
        if value == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "status", "price", "inventory_quantity", "created_at")
    price = money_display("price_cents", description="price")
    list_filter = (DeletedFilter, "status", "track_inventory", "allow_backorder", "organization")
    search_fields = ("name", "sku")
    list_select_related = ("organization",)
    ordering = ("-created_at",)
    # Status, stock and deletion change only through the services (audited), via the actions.
    readonly_fields = (
        "id",
        "organization",
        "status",
        "inventory_quantity",
        "published_at",
        "deleted_at",
        "created_at",
        "updated_at",
    )
    exclude = ("search_vector",)
    actions = ("publish", "archive", "soft_delete", "restock_ten")

    def get_queryset(self, request) -> QuerySet[Product]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # Staff who are not superusers see only their own organizations' products.
        return queryset.filter(organization__memberships__user=request.user)

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE_FIELDS}
        services.product_update(product=obj, data=data)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Publish (make active)")
    def publish(self, request, queryset):
        for product in queryset:
            services.product_publish(product=product)
        self.message_user(request, f"{queryset.count()} product(s) published.", messages.SUCCESS)

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        for product in queryset:
            services.product_archive(product=product)
        self.message_user(request, f"{queryset.count()} product(s) archived.", messages.SUCCESS)

    @admin.action(description="Delete (soft)")
    def soft_delete(self, request, queryset):
        products = list(queryset)
        for product in products:
            services.product_delete(product=product)
        self.message_user(request, f"{len(products)} product(s) deleted.", messages.SUCCESS)

    @admin.action(description="Add 10 to stock")
    def restock_ten(self, request, queryset):
        for product in queryset:
            services.product_adjust_inventory(product=product, delta=10, reason=f"admin restock by {request.user}")
        self.message_user(request, "Stock added.", messages.SUCCESS)
