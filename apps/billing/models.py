"""Billing: plans (data, editable in the admin), Stripe subscriptions, invoices, checkout sessions
and the Stripe events we received.

Stripe is the source of truth for subscriptions and invoices: these rows are
what our webhook handlers last read from it, mapped to our organizations and
plans. An organization's ``features``/``limits`` are a copy of its plan's,
written only by ``apps.billing.services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.models import BaseModel
from apps.entitlements import Feature, Limit

__all__ = ["Feature", "Limit"]  # the plan table's features and limits are the entitlements' (re-exported)


class BillingInterval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


def validate_plan_limits(value: Any) -> None:
    """Every known limit, each a whole number ≥ 0 or null (unlimited); nothing else."""
    if not isinstance(value, dict):
        raise ValidationError("Limits must be an object.")
    errors = []
    unknown = sorted(set(value) - set(Limit.values))
    if unknown:
        errors.append(f"Unknown limit(s): {', '.join(unknown)}.")
    missing = sorted(set(Limit.values) - set(value))
    if missing:
        errors.append(f"Missing limit(s): {', '.join(missing)} (null means unlimited).")
    for key in sorted(set(value) & set(Limit.values)):
        amount = value[key]
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount < 0):
            errors.append(f"{key}: a whole number ≥ 0, or null for unlimited.")
    if errors:
        raise ValidationError(errors)


class Plan(BaseModel):
    """A plan customers can be on. ``free`` (the default) is what an organization without a subscription gets."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists; higher plans come later.")
    is_active = models.BooleanField(default=True, help_text="Inactive plans are not offered (subscribers keep them).")
    is_default = models.BooleanField(default=False, help_text="The plan of organizations without a subscription.")
    currency = models.CharField(max_length=3, default="USD")
    monthly_price_cents = models.PositiveIntegerField(default=0)
    yearly_price_cents = models.PositiveIntegerField(default=0)
    stripe_price_monthly = models.CharField(max_length=255, blank=True, help_text="Stripe price id (price_…).")
    stripe_price_yearly = models.CharField(max_length=255, blank=True, help_text="Stripe price id (price_…).")
    features = ArrayField(models.CharField(max_length=40, choices=Feature.choices), default=list, blank=True)
    limits = models.JSONField(default=dict, validators=[validate_plan_limits])

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="billing_plan_one_default"
            ),
            models.CheckConstraint(condition=~Q(is_default=True, is_active=False), name="billing_plan_default_active"),
            models.UniqueConstraint(
                fields=["stripe_price_monthly"],
                condition=~Q(stripe_price_monthly=""),
                name="billing_plan_monthly_unique",
            ),
            models.UniqueConstraint(
                fields=["stripe_price_yearly"], condition=~Q(stripe_price_yearly=""), name="billing_plan_yearly_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.stripe_price_monthly and self.stripe_price_monthly == self.stripe_price_yearly:
            raise ValidationError({"stripe_price_yearly": "Monthly and yearly prices must differ."})

    def stripe_price(self, interval: str) -> str:
        return self.stripe_price_yearly if interval == BillingInterval.YEAR else self.stripe_price_monthly

    def price_cents(self, interval: str) -> int:
        return self.yearly_price_cents if interval == BillingInterval.YEAR else self.monthly_price_cents

    def limit(self, name: str) -> int | None:
        return (self.limits or {}).get(name)


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses."""

    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"


# Statuses in which the organization has its plan (past_due: Stripe is still retrying the payment).
LIVE_STATUSES = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})
# A Stripe subscription never leaves these.
TERMINAL_STATUSES = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})


class Subscription(BaseModel):
    """One Stripe subscription of an organization, as last read from Stripe."""

    Status = SubscriptionStatus

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    interval = models.CharField(max_length=8, choices=BillingInterval.choices)
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    stripe_customer_id = models.CharField(max_length=255)
    status = models.CharField(max_length=24, choices=SubscriptionStatus.choices)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # When the state stored here was true at Stripe: an older event never overwrites it.
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SubscriptionStatus.values), name="billing_subscription_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="billing_sub_org_status_idx")]

    def __str__(self) -> str:
        return f"{self.stripe_subscription_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class Invoice(BaseModel):
    """A Stripe invoice of an organization's subscription, as last reported by Stripe."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"
        VOID = "void", "Void"

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    currency = models.CharField(max_length=3)
    amount_due_cents = models.BigIntegerField(default=0)
    amount_paid_cents = models.BigIntegerField(default=0)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    stripe_created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    # The payment attempt whose failure was last emailed: one email per failed attempt.
    failure_notified_attempt = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-stripe_created_at"]
        indexes = [models.Index(fields=["organization", "-stripe_created_at"], name="billing_invoice_org_idx")]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class CheckoutSession(BaseModel):
    """A Stripe Checkout Session we opened; with its ``Idempotency-Key`` it is the replayable response."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Complete"
        EXPIRED = "expired", "Expired"

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="checkout_sessions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    interval = models.CharField(max_length=8, choices=BillingInterval.choices)
    idempotency_key = models.CharField(max_length=255, blank=True)
    # SHA-256 of the request body: the same key with another body is refused.
    request_fingerprint = models.CharField(max_length=64)
    stripe_session_id = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=2000)
    success_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set in the transaction that sent the "subscription started" email: a redelivered event sends none.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="billing_checkout_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.stripe_session_id


class StripeEvent(BaseModel):
    """Every Stripe event we accepted, stored once (unique Stripe id) and processed on the ``webhooks`` queue."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no handler or nothing of ours)"
        FAILED = "failed", "Failed"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=40, blank=True)
    livemode = models.BooleanField(default=False)
    stripe_created_at = models.DateTimeField()
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # A failed attempt is retried by the beat sweep at this time (backoff with jitter).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    organization_id = models.UUIDField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-stripe_created_at", "-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="billing_event_pending_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id} ({self.status})"


class Payment(BaseModel):
    """An order's Stripe PaymentIntent (one per order), as last read from Stripe."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="payment")
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="payments")
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # Stripe's PaymentIntent status: requires_payment_method, processing, succeeded, canceled, ...
    status = models.CharField(max_length=40)
    amount_refunded_cents = models.BigIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="billing_payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(amount_refunded_cents__gte=0) & Q(amount_refunded_cents__lte=models.F("amount_cents")),
                name="billing_payment_refunded_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_payment_intent_id} ({self.status})"

    @property
    def refundable_cents(self) -> int:
        return self.amount_cents - self.amount_refunded_cents


class Refund(BaseModel):
    """A Stripe refund of an order's payment: requested here or seen in a ``charge.refunded`` event."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # Stripe's refund status: pending, requires_action, succeeded, failed, canceled.
    status = models.CharField(max_length=40)
    reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount_cents__gt=0), name="billing_refund_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.stripe_refund_id} ({self.amount_cents} {self.currency})"
