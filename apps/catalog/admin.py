from django.contrib import admin

from apps.catalog import services
from apps.catalog.models import Product
from apps.core.money import money_display
from apps.organizations.admin_tenancy import TenantAdmin


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
class ProductAdmin(TenantAdmin):
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

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE_FIELDS}
        services.product_update(product=obj, data=data, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Publish (make active)")
    def publish(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda product: services.product_publish(product=product, actor=request.user),
            "{count} product(s) published.",
        )

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda product: services.product_archive(product=product, actor=request.user),
            "{count} product(s) archived.",
        )

    @admin.action(description="Delete (soft)")
    def soft_delete(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda product: services.product_delete(product=product, actor=request.user),
            "{count} product(s) deleted.",
        )

    @admin.action(description="Add 10 to stock")
    def restock_ten(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda product: services.product_adjust_inventory(
                product=product, delta=10, reason=f"admin restock by {request.user}", actor=request.user
            ),
            "Stock added to {count} product(s).",
        )
