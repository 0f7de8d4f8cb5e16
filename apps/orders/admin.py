"""Order admin for staff: every status change goes through the same services as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.audit.display import change_rows
from apps.core.exceptions import ApplicationError
from apps.core.money import money_display
from apps.orders import policies, selectors, services
from apps.orders.emails import format_money
from apps.orders.models import Order, OrderItem
from apps.organizations.admin_tenancy import TenantAdmin, error_message

TRANSITION_LABELS = {
    "confirm": "Confirm",
    "process": "Start processing",
    "ship": "Ship…",
    "deliver": "Mark delivered",
    "cancel": "Cancel order",
    "refund": "Refund",
}


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=100)
    tracking_number = forms.CharField(max_length=100)


class OrderItemInline(admin.TabularInline):
    """The lines as sold (snapshots): read-only."""

    model = OrderItem
    fields = (
        "position",
        "product_name",
        "variant_options",
        "sku",
        "quantity",
        "unit_price",
        "line_total",
        "fulfilled_quantity",
    )
    readonly_fields = fields
    ordering = ("position",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="product")
    def product_name(self, item: OrderItem) -> str:
        return item.product_snapshot.get("name", "")

    @admin.display(description="variant")
    def variant_options(self, item: OrderItem) -> str:
        """The variant as sold (its options from the snapshot); "default" for a single-variant product."""
        options = item.product_snapshot.get("option_values") or {}
        return ", ".join(f"{k}: {v}" for k, v in sorted(options.items())) or "default"

    @admin.display(description="SKU")
    def sku(self, item: OrderItem) -> str:
        return item.product_snapshot.get("sku", "")

    @admin.display(description="unit price")
    def unit_price(self, item: OrderItem) -> str:
        return format_money(item.unit_price_cents, item.product_snapshot.get("currency", ""))

    @admin.display(description="total")
    def line_total(self, item: OrderItem) -> str:
        return format_money(item.total_cents, item.product_snapshot.get("currency", ""))


@admin.register(Order)
class OrderAdmin(TenantAdmin):
    list_display = ("order_number", "organization", "customer", "status", "payment_status", "total", "created_at")
    list_display_links = ("order_number",)
    list_filter = ("status", "payment_status", "fulfillment_status", "organization")
    search_fields = ("customer_email",)  # see get_search_results: order number or email
    search_help_text = "Order number, or part of the customer's email."
    list_select_related = ("organization", "user")
    ordering = ("-created_at",)
    show_full_result_count = False
    inlines = (OrderItemInline,)
    change_form_template = "admin/orders/order/change_form.html"
    actions = ("confirm_orders", "process_orders", "deliver_orders", "cancel_orders", "refund_orders")
    fieldsets = (
        (None, {"fields": ("order_number", "organization", "user", "customer_email", "status", "created_at")}),
        ("Payment and fulfilment", {"fields": ("payment_status", "fulfillment_status", "stripe_payment_intent_id")}),
        (
            "Amounts",
            {"fields": ("subtotal", "discount", "tax", "shipping", "total")},
        ),
        (
            "Addresses and notes",
            {"fields": ("shipping_address", "billing_address", "customer_notes", "internal_notes", "metadata")},
        ),
        (
            "Lifecycle",
            {
                "fields": (
                    "carrier",
                    "tracking_number",
                    "cancel_reason",
                    "confirmed_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "refunded_at",
                    "stock_returned_at",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        # Only the staff-side fields are editable (through services.order_update); the rest moves by transitions.
        return [name for box in self.fieldsets for name in box[1]["fields"] if name not in services.EDITABLE_FIELDS]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return selectors.apply_search(queryset, search_term), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="customer", ordering="customer_email")
    def customer(self, order: Order) -> str:
        return order.user.email if order.user else order.customer_email

    subtotal = money_display("subtotal_cents", description="subtotal")
    discount = money_display("discount_cents", description="discount")
    tax = money_display("tax_cents", description="tax")
    shipping = money_display("shipping_cents", description="shipping")
    total = money_display("total_cents", description="total")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        blocked = getattr(request, "_olympus_blocked_transition", None)
        if blocked is None:
            return form

        def clean(self: forms.ModelForm) -> None:  # the page comes back with the edits kept and this on top
            form.clean(self)
            raise forms.ValidationError(
                f"This order has unsaved changes, so nothing was done. Save them first, then {blocked}."
            )

        return type("UnsavedEditsForm", (form,), {"clean": clean})

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE_FIELDS}
        services.order_update(order=obj, data=data, actor=request.user)

    # --- the detail page: transition buttons and the audit history ------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="orders_order_transition",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if order is not None:
            allowed = policies.order_allowed_transitions(user=request.user, order=order)
            extra_context["transitions"] = [(name, TRANSITION_LABELS[name]) for name in allowed]
            extra_context["history"] = [
                (entry, change_rows(entry.old_values, entry.new_values))
                for entry in selectors.order_history(order=order)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        order = self.get_object(request, object_id)
        if order is None or name not in services.TRANSITION_SERVICES:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        arguments: dict[str, str] = {}
        if request.method != "POST" and name != "ship":
            return HttpResponseRedirect(change_url)  # a bookmarked or reloaded transition URL: show the order
        if request.method == "POST" and self._unsaved_edits(request, order):
            # The button submitted the change form: keep what was typed and say why nothing happened.
            request._olympus_blocked_transition = TRANSITION_LABELS[name].rstrip("…").lower()
            return self.change_view(request, str(order.pk), form_url=change_url)
        if name == "ship":
            form = ShipForm(request.POST if request.method == "POST" else None)
            if not form.is_valid():
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "original": order,
                    "form": form,
                    "title": f"Ship order #{order.order_number}",
                }
                return TemplateResponse(request, "admin/orders/order/ship.html", context)
            arguments = form.cleaned_data
        if self._apply(request, order, name, **arguments):
            self.message_user(
                request, f"Order #{order.order_number}: {TRANSITION_LABELS[name]} done.", messages.SUCCESS
            )
        return HttpResponseRedirect(change_url)

    def _unsaved_edits(self, request: HttpRequest, order: Order) -> list[str]:
        """Editable fields the submitted change form carries with values other than the saved ones."""
        form_fields = super().get_form(request, order, change=True).base_fields
        posted = [name for name in services.EDITABLE_FIELDS if name in request.POST and name in form_fields]
        if not posted:
            return []
        form = super().get_form(request, order, change=True)(request.POST, instance=order)
        # Against the saved values (not the page's hidden initial values, which a stale page may carry).
        return [name for name in posted if form.fields[name].has_changed(form[name].initial, form[name].data)]

    def _apply(self, request: HttpRequest, order: Order, name: str, **arguments: Any) -> bool:
        try:
            services.order_transition(actor=request.user, order=order, name=name, **arguments)  # type: ignore[arg-type]  # staff only: the admin site signs in Users
        except ApplicationError as exc:
            self.message_user(request, f"Order #{order.order_number}: {error_message(exc)}", messages.ERROR)
            return False
        return True

    # --- bulk actions -------------------------------------------------------------------

    def _bulk(self, request, queryset, name):
        orders = list(queryset)
        done = sum(self._apply(request, order, name) for order in orders)
        if done:
            self.message_user(request, f"{TRANSITION_LABELS[name]}: {done} order(s).", messages.SUCCESS)
        else:
            self.message_user(request, f"{TRANSITION_LABELS[name]}: no order was changed.", messages.INFO)

    @admin.action(description="Confirm selected orders")
    def confirm_orders(self, request, queryset):
        self._bulk(request, queryset, "confirm")

    @admin.action(description="Start processing selected orders")
    def process_orders(self, request, queryset):
        self._bulk(request, queryset, "process")

    @admin.action(description="Mark selected orders delivered")
    def deliver_orders(self, request, queryset):
        self._bulk(request, queryset, "deliver")

    @admin.action(description="Cancel selected orders (returns stock)")
    def cancel_orders(self, request, queryset):
        self._bulk(request, queryset, "cancel")

    @admin.action(description="Refund selected orders (returns stock)")
    def refund_orders(self, request, queryset):
        self._bulk(request, queryset, "refund")
