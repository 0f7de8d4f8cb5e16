"""Deploy checks of the accounts app (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import DatabaseError
from django.db.models import Q

from apps.accounts.known_passwords import DEMO_EMAIL_DOMAIN, KNOWN_PASSWORDS

KNOWN_PASSWORD_CHECK_ID = "olympus.E001"  # noqa: S105 - a check id, not a password


@checks.register(checks.Tags.security, deploy=True)
def check_no_known_passwords(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Fail when an active account signs in with a password published in the repository.

    Hashing every password of a large user table would take minutes (Argon2 is slow on
    purpose), so the check covers the accounts such a password can reach: the demo
    accounts (``seed_demo``), and every staff member and superuser (the admin login).
    Everyone else is kept from choosing a published password by ``KnownPasswordValidator``.
    """
    from apps.accounts.models import User

    try:
        candidates = list(
            User.objects.filter(is_active=True)
            .filter(Q(is_staff=True) | Q(is_superuser=True) | Q(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}"))
            .exclude(status=User.Status.DELETED)
            .only("pk", "email", "password")
        )
    except DatabaseError as exc:  # no database yet (e.g. an image build): say so, don't crash
        return [
            checks.Warning(
                f"Could not look for accounts with published passwords: {exc.__class__.__name__}.",
                hint="Run `manage.py check --deploy` again once the database is reachable and migrated.",
                id="olympus.W001",
            )
        ]
    exposed = sorted(
        user.email for user in candidates if any(user.check_password(password) for password in KNOWN_PASSWORDS)
    )
    if not exposed:
        return []
    return [
        checks.Error(
            f"{len(exposed)} active account(s) sign in with a password published in the Olympus repository "
            f"(the demo password): {', '.join(exposed)}.",
            hint=(
                "Demo data does not belong in production. Change these passwords "
                "(`manage.py changepassword <email>`) or deactivate the accounts."
            ),
            id=KNOWN_PASSWORD_CHECK_ID,
        )
    ]
