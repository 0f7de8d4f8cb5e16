"""Billing errors. Codes stay within the envelope's list (DESIGN.md)."""

from apps.core.exceptions import ApplicationError, ServiceUnavailable


class BillingNotConfigured(ServiceUnavailable):
    """No Stripe secret key: billing endpoints answer 503 rather than guess."""

    default_message = "Billing is not configured on this server."


class PaymentProviderUnavailable(ServiceUnavailable):
    """Stripe could not be reached or refused the call; retry later (nothing was changed here)."""

    default_message = "The payment provider is unavailable; try again shortly."


class UnprocessableStripeEvent(ApplicationError):
    """A Stripe event we cannot map (unknown price, ...): retrying will not help, staff must look."""

    code = "VALIDATION_ERROR"
    http_status = 400
    default_message = "This Stripe event cannot be processed."
