"""Render ``templates/emails/<name>.txt`` and ``.html`` and send them with Django's mail backend."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def frontend_link(path: str, **params: str) -> str:
    """An absolute link into the web client (``FRONTEND_URL``), e.g. ``/reset-password?token=...``."""
    query = f"?{urlencode(params)}" if params else ""
    return f"{settings.FRONTEND_URL}{path}{query}"


def email_send(*, name: str, to: str, subject: str, context: dict[str, Any]) -> None:
    context = {"subject": subject, "site_name": "Olympus", "frontend_url": settings.FRONTEND_URL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{name}.html", context), "text/html")
    message.send()
