"""The port through which orders hand a refund of money paid online to the payments app.

Orders sit below billing (billing imports orders, never the reverse), so the
refund rule ("money paid through Stripe goes back through Stripe") reaches
billing through this small registry: billing registers its provider when the
app is ready; without one, every refund is the plain ``refund`` transition.
"""

from __future__ import annotations

from typing import Any, Protocol

from apps.orders.models import Order


class PaymentRefunds(Protocol):
    def paid_online(self, order: Order) -> bool:
        """Whether the order's money was taken online (then it goes back the same way)."""

    def refund(self, *, actor: Any, order: Order, amount_cents: int | None, reason: str, idempotency_key: str) -> Any:
        """Ask the provider to give back all (``None``) or ``amount_cents`` of it; returns the refund record."""


_provider: PaymentRefunds | None = None


def payment_refunds_register(provider: PaymentRefunds) -> None:
    global _provider  # noqa: PLW0603 - one provider per process, set once at start-up
    _provider = provider


def payment_refunds() -> PaymentRefunds | None:
    return _provider
