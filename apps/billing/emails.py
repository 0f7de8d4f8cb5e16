"""Billing emails (html + text from templates/emails/)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.billing.models import Invoice
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
