"""Billing tasks: thin, idempotent, call services. Stripe events run on ``webhooks``, emails on ``emails``."""

import logging
import smtplib

from celery import shared_task

from apps.billing.errors import BillingNotConfigured, PaymentProviderUnavailable

logger = logging.getLogger("olympus.billing.tasks")


@shared_task(acks_late=True)
def stripe_event_process(event_id: str) -> str:
    """Process one stored Stripe event (a no-op once processed; failures are retried by the sweep)."""
    from apps.billing import services

    return services.stripe_event_process(event_id=event_id)


@shared_task(acks_late=True)
def stripe_events_sweep() -> int:
    """Beat: process Stripe events whose relay was lost or whose retry is due."""
    from apps.billing import services

    return services.stripe_events_sweep()


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError))
def send_payment_failed_email(invoice_id: str) -> bool:
    """Email the billing contact and owners about a failed payment, once per attempt."""
    from apps.billing import services

    return services.payment_failed_notice_send(invoice_id=invoice_id)


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError))
def send_subscription_confirmation_email(checkout_id: str) -> bool:
    """Confirm a subscription bought through checkout to its buyer and the billing contact, once."""
    from apps.billing import services

    return services.subscription_confirmation_send(checkout_id=checkout_id)


@shared_task(acks_late=True, autoretry_for=(PaymentProviderUnavailable,))
def order_payment_release(order_id: str) -> str:
    """A cancelled order's PaymentIntent is cancelled at Stripe, or refunded if it was paid (Stripe down: retried)."""
    from apps.billing import services

    try:
        return services.order_payment_release(order_id=order_id)
    except BillingNotConfigured:
        logger.warning("order %s was cancelled but Stripe is not configured: its payment is left as it is", order_id)
        return "not_configured"
