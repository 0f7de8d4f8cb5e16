"""Rendering and sending the invitation email (html + text from templates/emails/)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.organizations.models import Invitation


def send_invitation_email(*, invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": invitation.invited_by,
        "role": invitation.get_role_display(),
        "token": token,
        "accept_url": settings.INVITATION_ACCEPT_URL.format(token=token),
        "expires_at": invitation.expires_at,
    }
    subject = f"You are invited to join {invitation.organization.name} on Olympus"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/organization_invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("emails/organization_invitation.html", context), "text/html")
    message.send()
