from django import forms
from django.contrib import admin
from django.db.models import OuterRef, Subquery, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.catalog import images, services
from apps.catalog.models import MAX_IMAGES, Category, Product, ProductImage, ProductVariant
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


class VariantInline(admin.TabularInline):
    """The product's variants; every change goes through the variant services (audited); stock through adjust."""

    model = ProductVariant
    extra = 0
    fields = (
        "sku",
        "option_values",
        "price_cents",
        "compare_at_price_cents",
        "track_inventory",
        "allow_backorder",
        "inventory_quantity",
        "position",
        "is_default",
    )
    readonly_fields = ("inventory_quantity", "is_default")
    ordering = ("position", "created_at", "id")


@admin.register(Product)
class ProductAdmin(TenantAdmin):
    list_display = ("name", "organization", "status", "price", "stock", "created_at")
    price = money_display("price_cents", description="price")
    list_filter = (DeletedFilter, "status", "organization")
    search_fields = ("name", "variant_skus")
    inlines = (VariantInline,)
    list_select_related = ("organization",)
    ordering = ("-created_at",)
    # Status, stock and deletion change only through the services (audited), via the actions.
    readonly_fields = (
        "id",
        "organization",
        "status",
        "published_at",
        "deleted_at",
        "created_at",
        "updated_at",
        "image_previews",
    )
    exclude = ("search_vector",)
    actions = ("publish", "archive", "soft_delete", "restock_ten")

    def has_add_permission(self, request):
        return False

    @admin.display(description="images")
    def image_previews(self, obj):
        """The product's images in order (its ``images`` list: no query), each linking to its admin page."""
        if not obj.images:
            return "No images (upload them with POST /api/v1/products/{id}/images/)."
        return format_html_join(
            " ",
            '<a href="{}" title="{}"><img src="{}" alt="{}" style="max-height:80px;max-width:120px"></a>',
            (
                (
                    reverse("admin:catalog_productimage_change", args=[entry["id"]]),
                    f"#{entry['position']} {entry['url']}",
                    entry["url"],
                    entry["alt"],
                )
                for entry in obj.images
            ),
        )

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE_FIELDS}
        if "category" in form.changed_data:  # the service takes the id (and checks the organization)
            data["category"] = form.cleaned_data["category"].pk if form.cleaned_data["category"] else None
        services.product_update(product=obj, data=data, actor=request.user)

    def get_queryset(self, request):
        # The stock column, summed in the changelist's own query.
        stock = (
            ProductVariant.objects.filter(product=OuterRef("pk"), track_inventory=True)
            .values("product")
            .annotate(total=Sum("inventory_quantity"))
            .values("total")
        )
        return super().get_queryset(request).annotate(stock_total=Subquery(stock))

    @admin.display(description="stock", ordering="stock_total")
    def stock(self, obj):
        return obj.stock_total or 0

    def save_formset(self, request, form, formset, change):
        """Variants: created, changed and deleted through the services (one transaction with the admin's)."""
        if formset.model is not ProductVariant:
            return super().save_formset(request, form, formset, change)
        product = form.instance
        for variant_form in formset.forms:
            if not variant_form.has_changed() and not formset._should_delete_form(variant_form):
                continue
            instance = variant_form.instance
            data = {name: variant_form.cleaned_data.get(name) for name in variant_form.changed_data}
            data = {name: value for name, value in data.items() if name in services.VARIANT_FIELDS}
            if formset._should_delete_form(variant_form):
                if instance.pk is not None:
                    services.variant_delete(variant=instance, actor=request.user)
            elif instance._state.adding:
                services.variant_create(product=product, data=data, actor=request.user)
            elif data:
                services.variant_update(variant=instance, data=data, actor=request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "category":
            kwargs["queryset"] = self.scope(request, Category.objects.select_related("organization"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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


class ProductImageAddForm(forms.ModelForm):
    """An upload: the product, the file, alt text and a place; the service checks and stores it."""

    # Not the model's field: empty means "last", which the service decides (the model has no "empty").
    place = forms.IntegerField(
        label="Position", required=False, min_value=0, max_value=MAX_IMAGES, help_text="0 first; empty: last."
    )

    class Meta:
        model = ProductImage
        fields = ("product", "file", "alt", "place")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].required = True
        self.fields["file"].help_text = "JPEG, PNG, WebP or GIF (judged by its content)."


@admin.register(ProductImage)
class ProductImageAdmin(TenantAdmin):
    """Product images: uploaded, listed, reordered, re-described and deleted through the same services as
    REST (``apps.catalog.images``): the same content checks, limit and roles, files removed after commit."""

    list_display = ("thumbnail", "product", "organization", "position", "alt", "content_type", "size_bytes")
    list_select_related = ("product", "organization")
    list_filter = ("organization",)
    search_fields = ("product__name", "alt")
    ordering = ("product", "position")
    fields = ("product", "thumbnail", "link", "alt", "position", "width", "height", "content_type", "size_bytes")
    readonly_fields = ("product", "thumbnail", "link", "width", "height", "content_type", "size_bytes")
    actions = ("delete_through_service",)

    @admin.display(description="image")
    def thumbnail(self, obj):
        return format_html('<img src="{}" alt="{}" style="max-height:80px;max-width:120px">', obj.url, obj.alt)

    @admin.display(description="URL")
    def link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.url, obj.url)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:  # adding: an upload
            kwargs["form"] = ProductImageAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ProductImageAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product":  # the staff member's organizations' live products
            kwargs["queryset"] = self.scope(request, Product.objects.alive().select_related("organization"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # through the action: the service removes the file after commit

    def save_model(self, request, obj, form, change):
        if not change:
            image = images.product_image_add(
                product=form.cleaned_data["product"],
                upload=form.cleaned_data["file"],
                alt=form.cleaned_data.get("alt") or "",
                position=form.cleaned_data.get("place"),
                actor=request.user,
            )
            obj.__dict__.update({k: v for k, v in image.__dict__.items() if k != "_state"})
            obj._state.adding = False
            return
        data = {name: form.cleaned_data[name] for name in ("alt", "position") if name in form.changed_data}
        if data:
            images.product_image_update(image=obj, data=data, actor=request.user)

    @admin.action(description="Delete (removes the file)")
    def delete_through_service(self, request, queryset):
        self.run_service(
            request,
            list(queryset.select_related("product__organization")),
            lambda image: images.product_image_delete(image=image, actor=request.user),
            "{count} image(s) deleted.",
        )


class CategoryForm(forms.ModelForm):
    parent = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, help_text="Empty: a root of the organization's tree."
    )

    class Meta:
        model = Category
        fields = ("organization", "name", "slug", "description", "position")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "From the name when empty; unique among siblings."
        if not self.instance._state.adding and self.instance.parent_path:
            self.initial["parent"] = Category.objects.filter(path=self.instance.parent_path).first()

    def validate_unique(self):
        """Siblings' slugs are the service's rule (it answers with a message, not a form error)."""


@admin.register(Category)
class CategoryAdmin(TenantAdmin):
    """The tree, indented, in depth-first order; every change goes through the catalog services."""

    form = CategoryForm
    list_display = ("tree_name", "organization", "slug", "position", "depth")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("name", "slug")
    ordering = ("path",)
    actions = ("delete_empty",)

    @admin.display(description="name")
    def tree_name(self, obj):
        return format_html("{}{}", "— " * (obj.depth - 1), obj.name)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["parent"].queryset = self.get_queryset(request)  # type: ignore[attr-defined]  # a ModelChoiceField
        if obj is not None:
            form.base_fields["organization"].disabled = True
        return form

    def get_fields(self, request, obj=None):
        return ("organization", "parent", "name", "slug", "description", "position")

    def has_delete_permission(self, request, obj=None):
        return False  # through the action, which refuses a non-empty category

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.CATEGORY_FIELDS if name in form.cleaned_data}
        parent = form.cleaned_data.get("parent")
        if not change:
            category = services.category_create(
                organization=form.cleaned_data["organization"],
                data=data,
                parent_id=parent.pk if parent else None,
                actor=request.user,
            )
            obj.pk, obj.path, obj.depth = category.pk, category.path, category.depth
            return
        changed = {name: data[name] for name in form.changed_data if name in data}
        if changed:
            services.category_update(category=obj, data=changed, actor=request.user)
        if "parent" in form.changed_data:
            services.category_move(category=obj, parent_id=parent.pk if parent else None, actor=request.user)

    @admin.action(description="Delete (empty categories only)")
    def delete_empty(self, request, queryset):
        self.run_service(
            request,
            list(queryset),
            lambda category: services.category_delete(category=category, actor=request.user),
            "{count} category(ies) deleted.",
        )
