"""Billing emails (html + text from templates/emails/)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.billing.models import CheckoutSession, Invoice
from apps.organizations.selectors import organization_owner_emails


def payment_failed_recipients(*, invoice: Invoice) -> list[str]:
    """The billing email first, then the owners; each address once."""
    organization = invoice.organization
    addresses = [organization.billing_email, *organization_owner_emails(organization_id=organization.pk)]
    return list(dict.fromkeys(address.lower() for address in addresses if address))


def send_payment_failed_email(*, invoice: Invoice) -> bool:
    recipients = payment_failed_recipients(invoice=invoice)
    if not recipients:
        return False
    context = {
        "organization": invoice.organization,
        "invoice": invoice,
        "amount": f"{invoice.amount_due_cents / 100:.2f} {invoice.currency}",
        "plan": invoice.subscription.plan.name if invoice.subscription else "",
        "billing_url": f"{settings.FRONTEND_URL}/organizations/{invoice.organization_id}/billing",
    }
    message = EmailMultiAlternatives(
        subject=f"Payment failed for {invoice.organization.name} on Olympus",
        body=render_to_string("emails/billing_payment_failed.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("emails/billing_payment_failed.html", context), "text/html")
    message.send()
    return True


def subscription_confirmation_recipients(*, checkout: CheckoutSession) -> list[str]:
    """Who started the checkout first, then the billing email; each address once."""
    buyer = checkout.created_by.email if checkout.created_by is not None else ""
    addresses = [buyer, checkout.organization.billing_email]
    return list(dict.fromkeys(address.lower() for address in addresses if address))


def send_subscription_confirmation_email(*, checkout: CheckoutSession) -> bool:
    recipients = subscription_confirmation_recipients(checkout=checkout)
    if not recipients:
        return False
    plan = checkout.plan
    yearly = checkout.interval == "year"
    cents = plan.yearly_price_cents if yearly else plan.monthly_price_cents
    context = {
        "organization": checkout.organization,
        "plan": plan,
        "interval_label": "yearly" if yearly else "monthly",
        "price": f"{cents // 100}.{cents % 100:02d} {plan.currency}",
        "billing_url": f"{settings.FRONTEND_URL}/organizations/{checkout.organization_id}/billing",
    }
    message = EmailMultiAlternatives(
        subject=f"{checkout.organization.name} is subscribed to {plan.name} on Olympus",
        body=render_to_string("emails/billing_subscription_confirmed.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("emails/billing_subscription_confirmed.html", context), "text/html")
    message.send()
    return True
