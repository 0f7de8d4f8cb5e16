"""Event types the billing app publishes through the outbox (payloads carry ids and plan codes)."""

SUBSCRIPTION_UPDATED = "subscription.updated"
