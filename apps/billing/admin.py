"""Billing admin: plans are editable (through ``plan_save``); everything Stripe tells us is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.billing import services
from apps.billing.models import CheckoutSession, Invoice, Payment, Plan, Refund, StripeEvent, Subscription
from apps.billing.services.plans import PLAN_FIELDS
from apps.core.admin import SuperuserOnlyAdmin
from apps.core.money import money_display
from apps.organizations.admin_tenancy import TenantAdmin


def _organization_link(obj: Any) -> str:
    organization = obj.organization
    url = reverse("admin:organizations_organization_change", args=[organization.pk])
    return format_html('<a href="{}">{}</a>', url, organization)


def _order_link(order: Any) -> str:
    url = reverse("admin:orders_order_change", args=[order.pk])
    return format_html('<a href="{}">{}</a>', url, order)


class ReadOnlyAdmin(TenantAdmin):
    """Rows that mirror Stripe: staff look (their organizations' rows), the webhooks write."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "position",
        "is_active",
        "is_default",
        "monthly_price",
        "yearly_price",
        "stripe_price_monthly",
        "stripe_price_yearly",
    )
    list_editable = ("position",)
    monthly_price = money_display("monthly_price_cents", description="monthly price")
    yearly_price = money_display("yearly_price_cents", description="yearly price")
    ordering = ("position", "code")
    search_fields = ("code", "name", "stripe_price_monthly", "stripe_price_yearly")

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # subscriptions refer to plans: deactivate instead

    def save_model(self, request: Any, obj: Plan, form: Any, change: bool) -> None:
        # The service saves, audits and re-copies features/limits onto the organizations on the plan.
        data = {name: getattr(obj, name) for name in PLAN_FIELDS}
        services.plan_save(actor=request.user, plan=obj, data=data)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "stripe_subscription_id",
        "organization_link",
        "plan",
        "interval",
        "status",
        "cancel_at_period_end",
        "current_period_end",
    )
    list_filter = ("status", "plan", "interval", "cancel_at_period_end")
    search_fields = ("stripe_subscription_id", "stripe_customer_id", "organization__name", "organization__slug")
    list_select_related = ("organization", "plan")

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: Subscription) -> str:
        return _organization_link(obj)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("stripe_invoice_id", "organization_link", "status", "amount_due", "amount_paid", "paid_at")
    amount_due = money_display("amount_due_cents", description="amount due")
    amount_paid = money_display("amount_paid_cents", description="amount paid")
    list_filter = ("status",)
    search_fields = ("stripe_invoice_id", "number", "organization__name")
    list_select_related = ("organization",)

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: Invoice) -> str:
        return _organization_link(obj)


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdmin):
    list_display = ("stripe_session_id", "organization_link", "plan", "interval", "status", "created_at")
    list_filter = ("status", "plan")
    search_fields = ("stripe_session_id", "organization__name")
    list_select_related = ("organization", "plan")

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: CheckoutSession) -> str:
        return _organization_link(obj)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "stripe_payment_intent_id",
        "order_link",
        "organization_link",
        "status",
        "amount",
        "amount_refunded",
        "created_at",
    )
    amount = money_display("amount_cents", description="amount")
    amount_refunded = money_display("amount_refunded_cents", description="refunded")
    list_filter = ("status",)
    search_fields = ("stripe_payment_intent_id", "order__order_number", "organization__name")
    list_select_related = ("order", "organization")

    @admin.display(description="order", ordering="order__order_number")
    def order_link(self, obj: Payment) -> str:
        return _order_link(obj.order)

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: Payment) -> str:
        return _organization_link(obj)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("stripe_refund_id", "order_link", "organization_link", "status", "amount")
    amount = money_display("amount_cents", description="amount")
    list_filter = ("status",)
    search_fields = ("stripe_refund_id", "payment__stripe_payment_intent_id")
    list_select_related = ("payment__order", "organization")

    @admin.display(description="order")
    def order_link(self, obj: Refund) -> str:
        return _order_link(obj.payment.order)

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj: Refund) -> str:
        return _organization_link(obj)


@admin.register(StripeEvent)
class StripeEventAdmin(SuperuserOnlyAdmin, ReadOnlyAdmin):
    organization_path = "organization_id"
    list_display = ("stripe_event_id", "type", "status", "attempts", "stripe_created_at", "processed_at")
    list_filter = ("status", "type")
    search_fields = ("stripe_event_id", "object_id", "type")
    readonly_fields = [field.name for field in StripeEvent._meta.fields]
    actions = ("reprocess",)

    def has_reprocess_permission(self, request: Any) -> bool:
        return request.user.has_perm("billing.change_stripeevent")

    @admin.action(description="Reprocess selected events", permissions=["reprocess"])
    def reprocess(self, request: Any, queryset: Any) -> None:
        count = services.stripe_events_reprocess(event_ids=list(queryset.values_list("pk", flat=True)))
        if count:
            self.message_user(request, f"{count} event(s) queued for processing.", messages.SUCCESS)
        else:
            self.message_user(request, "No event was queued.", messages.INFO)
