"""Orders, their items and the per-organization order-number counter.

The order's lifecycle is a django-fsm-2 state machine on ``status``: the
transition methods below *are* the allowed graph (``protected=True``: nothing
assigns a status directly). Services in ``services/lifecycle.py`` lock the row, call a
transition, move stock, audit and publish; the methods here only change the
order's own fields.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import FSMField, FSMFieldMixin, FSMModelMixin, transition

from apps.core.models import BaseModel


class ThreadSafeFSMModelMixin(FSMModelMixin):
    """``refresh_from_db`` for models with protected FSM fields, safe when threads share the model class.

    django-fsm-2's own mixin lifts the protection by setting ``protected = False``
    on the *field*, which every instance in the process shares: a second thread's
    refresh that ends first turns the protection back on under the first one's
    feet, which then fails with "Direct status modification is not allowed" (a
    Stripe event handler did, 1 run in 300, with two events processed at once).
    Here only the instance changes: the descriptor refuses an assignment when the
    state is already in the instance's ``__dict__``, so the refreshed fields are
    taken out of it first and put back by the reload.
    """

    def refresh_from_db(self, using: str | None = None, fields: Any = None, from_queryset: Any = None) -> None:
        protected = {
            field.attname
            for field in self._meta.concrete_fields
            if isinstance(field, FSMFieldMixin) and field.protected
        }
        if fields is None:  # Model's "every loaded field", named, since a field taken out looks deferred
            deferred = self.get_deferred_fields()
            fields = [field.attname for field in self._meta.concrete_fields if field.attname not in deferred]
            self._prefetched_objects_cache: dict[str, Any] = {}
        for name in protected.intersection(fields):
            self.__dict__.pop(name, None)
        # Skip FSMModelMixin's refresh (the one toggling the shared flag): Model's does the work.
        super(FSMModelMixin, self).refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)


FIRST_ORDER_NUMBER = 1001


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class OrderPaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


class OrderFulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", "Unfulfilled"
    FULFILLED = "fulfilled", "Fulfilled"
    DELIVERED = "delivered", "Delivered"
    RESTOCKED = "restocked", "Restocked"


class Order(ThreadSafeFSMModelMixin, BaseModel):
    """A customer's order with one organization; amounts in integer cents of ``currency``."""

    Status = OrderStatus
    PaymentStatus = OrderPaymentStatus
    FulfillmentStatus = OrderFulfillmentStatus

    organization = models.ForeignKey("organizations.Organization", on_delete=models.PROTECT, related_name="orders")
    # The customer; the order outlives their account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    customer_email = models.EmailField(blank=True, help_text="The customer's email when the order was placed.")
    order_number = models.PositiveIntegerField(editable=False)
    status = FSMField(max_length=16, choices=Status.choices, default=Status.PENDING, protected=True)
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    fulfillment_status = models.CharField(
        max_length=16, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    subtotal_cents = models.BigIntegerField(default=0)
    discount_cents = models.BigIntegerField(default=0)
    tax_cents = models.BigIntegerField(default=0)
    shipping_cents = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    shipping_address = models.JSONField(default=dict)
    billing_address = models.JSONField(default=dict)
    customer_notes = models.TextField(blank=True)
    internal_notes = models.TextField(blank=True, help_text="Seen by the organization's members only.")
    metadata = models.JSONField(default=dict, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # Set in the transaction that gave the reserved stock back: never twice.
    stock_returned_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Customer emails already sent (confirmed, shipped, cancelled): a redelivered event sends nothing.
    emails_sent = ArrayField(models.CharField(max_length=32), default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "order_number"], name="orders_order_number_unique"),
            models.CheckConstraint(condition=Q(order_number__gte=1), name="orders_order_number_gte_1"),
            models.CheckConstraint(
                condition=Q(subtotal_cents__gte=0)
                & Q(discount_cents__gte=0)
                & Q(tax_cents__gte=0)
                & Q(shipping_cents__gte=0)
                & Q(total_cents__gte=0),
                name="orders_order_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(
                    total_cents=F("subtotal_cents") - F("discount_cents") + F("tax_cents") + F("shipping_cents")
                ),
                name="orders_order_total_adds_up",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="orders_order_currency"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="orders_order_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_status__in=OrderPaymentStatus.values), name="orders_order_payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(fulfillment_status__in=OrderFulfillmentStatus.values),
                name="orders_order_fulfillment_status_valid",
            ),
        ]
        indexes = [
            # Members' lists: one organization's orders, newest first (and by status).
            models.Index(fields=["organization", "-created_at", "-id"], name="order_org_created_idx"),
            models.Index(fields=["organization", "status", "-created_at"], name="order_org_status_idx"),
            # Customers' lists: their own orders, newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.order_number}"

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        # The state machine owns ``status`` (protected: cleaning may not reassign it); a check constraint guards it.
        super().clean_fields(exclude={*(exclude or ()), "status"})

    # --- the lifecycle graph --------------------------------------------------------

    @transition(field=status, source=Status.PENDING, target=Status.CONFIRMED)
    def confirm(self) -> None:
        self.confirmed_at = timezone.now()

    @transition(field=status, source=Status.CONFIRMED, target=Status.PROCESSING)
    def process(self) -> None:
        pass

    @transition(field=status, source=Status.PROCESSING, target=Status.SHIPPED)
    def ship(self, *, carrier: str, tracking_number: str) -> None:
        self.carrier = carrier
        self.tracking_number = tracking_number
        self.shipped_at = timezone.now()
        self.fulfillment_status = self.FulfillmentStatus.FULFILLED

    @transition(field=status, source=Status.SHIPPED, target=Status.DELIVERED)
    def deliver(self) -> None:
        self.delivered_at = timezone.now()
        self.fulfillment_status = self.FulfillmentStatus.DELIVERED

    @transition(field=status, source=[Status.PENDING, Status.CONFIRMED, Status.PROCESSING], target=Status.CANCELLED)
    def cancel(self, *, reason: str = "") -> None:
        self.cancelled_at = timezone.now()
        self.cancel_reason = reason

    @transition(
        field=status,
        source=[Status.CONFIRMED, Status.PROCESSING, Status.SHIPPED, Status.DELIVERED],
        target=Status.REFUNDED,
    )
    def refund(self, *, reason: str = "") -> None:
        self.refunded_at = timezone.now()
        self.payment_status = self.PaymentStatus.REFUNDED
        if reason:
            self.cancel_reason = reason

    @property
    def allowed_transitions(self) -> list[str]:
        """Names of the transitions the graph allows from the current status."""
        return sorted(t.name for t in self.get_available_status_transitions())


class OrderItem(BaseModel):
    """One line of an order: the product as it was sold (snapshot), quantity and price."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    # The catalog row may be deleted later; the snapshot keeps what was sold.
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_items"
    )
    # The variant sold (its SKU, options and price are in the snapshot too).
    variant = models.ForeignKey(
        "catalog.ProductVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_items"
    )
    position = models.PositiveSmallIntegerField(default=0)
    product_snapshot = models.JSONField(default=dict)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.BigIntegerField()
    total_cents = models.BigIntegerField()
    fulfilled_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_item_quantity_gt_0"),
            models.CheckConstraint(condition=Q(unit_price_cents__gte=0), name="orders_item_price_gte_0"),
            models.CheckConstraint(
                condition=Q(total_cents=F("unit_price_cents") * F("quantity")), name="orders_item_total_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(fulfilled_quantity__lte=F("quantity")), name="orders_item_fulfilled_lte_quantity"
            ),
            # Duplicate lines are merged at placement: one line per variant.
            models.UniqueConstraint(
                fields=["order", "variant"], condition=Q(variant__isnull=False), name="orders_item_variant_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_snapshot.get('name', self.product_id)}"


class OrderNumberSequence(models.Model):
    """The last order number handed out in one organization.

    Numbers come from ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` on this
    row inside the placing transaction, and a rolled-back order gives its number
    back (numbers are gapless, never reused). The row lock serializes concurrent
    placements of one organization until commit, so placement takes it last and
    runs only precompiled inserts after it (``services.order_place``).

    The same statement counts the order against the month (``usage_orders``
    since ``usage_period_start``, the start of the organization's calendar month):
    the ``orders_per_month`` check under the lock reads this one row instead of
    counting the month's orders. The orders table stays the source of truth: a
    beat job (``services.order_usage_reconcile``) recounts and fixes drift from
    orders written outside the service.
    """

    organization = models.OneToOneField(
        "organizations.Organization", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_number = models.PositiveIntegerField()
    usage_period_start = models.DateTimeField(null=True, blank=True)
    usage_orders = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last_number}"
