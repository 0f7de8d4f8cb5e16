"""Passwords written down in this repository: no account may keep one outside development.

The demo password is printed by ``seed_demo`` and in the docs, so anyone can read it.
``KnownPasswordValidator`` refuses these passwords wherever a password is set through
Django's validators, and the ``olympus.E001`` deploy check (``apps.accounts.checks``)
finds accounts that still sign in with one.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

DEMO_PASSWORD = "Olympus-demo-1!"  # noqa: S105 - the public demo credential, development only

KNOWN_PASSWORDS: tuple[str, ...] = (DEMO_PASSWORD,)

# Accounts seeded by the demo all live under this domain.
DEMO_EMAIL_DOMAIN = "demo.olympus.local"


class KnownPasswordValidator:
    """Refuse a password that is published in this repository (the demo password)."""

    code = "password_known"
    message = "This password is published with Olympus (a demo credential); choose another."

    def validate(self, password: str, user: Any = None) -> None:
        if password in KNOWN_PASSWORDS:
            raise ValidationError(self.message, code=self.code)

    def get_help_text(self) -> str:
        return "Your password can't be a demo password published with Olympus."
