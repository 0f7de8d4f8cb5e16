"""OpenAPI extensions of the accounts app (registered when the app is ready)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class SessionJWTScheme(SimpleJWTScheme):
    """The session-aware authentication documents the same bearer JWT scheme as simplejwt's."""

    target_class = "apps.accounts.authentication.SessionJWTAuthentication"
