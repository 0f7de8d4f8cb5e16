"""Rendering and sending the customer's order emails (html + text from templates/emails/order_<kind>.*)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.orders.models import Order

SUBJECTS = {
    "confirmed": "Your order #{number} with {shop} is confirmed",
    "shipped": "Your order #{number} with {shop} is on its way",
    "cancelled": "Your order #{number} with {shop} was cancelled",
}


def format_money(cents: int, currency: str) -> str:
    """Integer cents as ``12.34 USD`` (no floats)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d} {currency}"


# The platform's own cancel reasons (apps.orders.services.unpaid) in the customer's words.
CANCEL_REASON_TEXTS = {
    "payment_failed": "The payment did not go through, so the items we held for you were released.",
    "payment_timeout": "It was not paid in time, so the items we held for you were released.",
}


def order_email_context(order: Order) -> dict[str, Any]:
    money = {
        name: format_money(getattr(order, f"{name}_cents"), order.currency)
        for name in ("subtotal", "discount", "tax", "shipping", "total")
    }
    lines = [
        {
            "name": item.product_snapshot.get("name", ""),
            "sku": item.product_snapshot.get("sku", ""),
            "quantity": item.quantity,
            "unit_price": format_money(item.unit_price_cents, order.currency),
            "total": format_money(item.total_cents, order.currency),
        }
        for item in order.items.all()
    ]
    return {
        "order": order,
        "organization": order.organization,
        "customer_name": (order.user.full_name if order.user else "") or "",
        "money": money,
        "lines": lines,
        "address": order.shipping_address,
        "cancel_reason": CANCEL_REASON_TEXTS.get(order.cancel_reason, order.cancel_reason),
    }


def send_order_email(*, order: Order, kind: str, recipient: str) -> None:
    context = order_email_context(order)
    subject = SUBJECTS[kind].format(number=order.order_number, shop=order.organization.name)
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/order_{kind}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach_alternative(render_to_string(f"emails/order_{kind}.html", context), "text/html")
    message.send()
