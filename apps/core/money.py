"""Money for people: integer cents and an ISO currency as ``94.50 USD`` (never through a float)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin

# ISO 4217 currencies without minor units: their amounts are whole units.
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def format_money(cents: int | None, currency: str) -> str:
    """``9450, "USD"`` → ``94.50 USD``; ``-5, "EUR"`` → ``-0.05 EUR``; ``None`` → ``—``."""
    if cents is None:
        return "—"
    currency = (currency or "").upper()
    if currency in ZERO_DECIMAL:
        return f"{cents} {currency}".strip()
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d} {currency}".strip()


def money_display(field: str, *, description: str, currency_field: str = "currency") -> Callable[[Any, Any], str]:
    """An admin column or read-only field showing ``<field>`` (cents) as money, sortable by the field."""

    @admin.display(description=description, ordering=field)
    def display(model_admin: Any, obj: Any) -> str:
        return format_money(getattr(obj, field), getattr(obj, currency_field, ""))

    return display
