"""The one way this project talks to Stripe: a configured ``StripeClient`` and error translation.

``STRIPE_API_BASE`` points the client at Stripe, or at localstripe in tests
and in ``make run`` demo mode (see ``tools/stripe_local.py``). Stripe errors
become :class:`PaymentProviderUnavailable` (503) so nothing of Stripe's leaks
into our envelope.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from django.conf import settings

from apps.billing.errors import BillingNotConfigured, PaymentProviderUnavailable

logger = logging.getLogger("olympus.billing.stripe")


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=retries)


def stripe_client() -> stripe.StripeClient:
    """A client for the configured account; 503 when no secret key is set."""
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured()
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES)


@contextmanager
def stripe_errors(action: str) -> Iterator[None]:
    """Turn any Stripe failure inside the block into a 503 (logged with what we were doing)."""
    try:
        yield
    except stripe.StripeError as exc:
        logger.warning(
            "stripe call failed while %s: %s (status %s, code %s)",
            action,
            type(exc).__name__,
            getattr(exc, "http_status", None),
            getattr(exc, "code", None),
        )
        raise PaymentProviderUnavailable() from exc


def as_dict(obj: Any) -> dict[str, Any]:
    """A Stripe object (or an already plain payload) as plain nested dicts and lists."""
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(recursive=True)
    return dict(obj)
