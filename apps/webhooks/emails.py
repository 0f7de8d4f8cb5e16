"""The "endpoint disabled" email to an organization's owners (html + text from templates/emails/)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.organizations.selectors import organization_owner_emails
from apps.webhooks.models import WebhookEndpoint


def send_endpoint_disabled(*, endpoint_id: uuid.UUID | str) -> int:
    """Email the owners if the endpoint is still disabled; returns how many were emailed."""
    endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.is_active:
        return 0
    recipients = organization_owner_emails(organization_id=endpoint.organization_id)
    if not recipients:
        return 0
    context = {"endpoint": endpoint, "organization": endpoint.organization}
    message = EmailMultiAlternatives(
        subject=f"Webhook endpoint disabled for {endpoint.organization.name}",
        body=render_to_string("emails/webhook_endpoint_disabled.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("emails/webhook_endpoint_disabled.html", context), "text/html")
    message.send()
    return len(recipients)
