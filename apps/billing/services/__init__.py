"""Every write of the billing app (see each module); the names other apps use are re-exported here."""

from apps.billing.services.checkout import (
    billing_portal_session_create,
    checkout_session_complete,
    checkout_session_create,
    redirect_url_allowed,
    stripe_customer_ensure,
    subscription_confirmation_send,
)
from apps.billing.services.invoices import invoice_apply, payment_failed_notice_send
from apps.billing.services.payments import on_charge_refunded, on_payment_intent, order_payment_intent, payment_refund
from apps.billing.services.plans import (
    default_plan,
    live_subscription,
    organization_features,
    organization_limits,
    organization_plan,
    organization_plan_apply,
    plan_feature_enabled,
    plan_feature_require,
    plan_limit_check,
    plan_limit_lock,
    plan_prices_sync,
    plan_save,
    usage_period_start,
)
from apps.billing.services.stripe_events import (
    register_stripe_handler,
    stripe_event_process,
    stripe_event_record,
    stripe_events_reprocess,
    stripe_events_sweep,
    stripe_signature_verify,
)
from apps.billing.services.subscriptions import (
    subscription_apply,
    subscription_cancel,
    subscription_refresh,
    subscription_resume,
)

__all__ = [
    "billing_portal_session_create",
    "checkout_session_complete",
    "checkout_session_create",
    "default_plan",
    "invoice_apply",
    "live_subscription",
    "on_charge_refunded",
    "on_payment_intent",
    "order_payment_intent",
    "organization_features",
    "organization_limits",
    "organization_plan",
    "organization_plan_apply",
    "payment_failed_notice_send",
    "payment_refund",
    "plan_feature_enabled",
    "plan_feature_require",
    "plan_limit_check",
    "plan_limit_lock",
    "plan_prices_sync",
    "plan_save",
    "redirect_url_allowed",
    "register_stripe_handler",
    "stripe_customer_ensure",
    "stripe_event_process",
    "stripe_event_record",
    "stripe_events_reprocess",
    "stripe_events_sweep",
    "stripe_signature_verify",
    "subscription_apply",
    "subscription_cancel",
    "subscription_confirmation_send",
    "subscription_refresh",
    "subscription_resume",
    "usage_period_start",
]
