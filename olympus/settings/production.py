"""Production: every secret and service comes from the environment; fail fast."""

import environ
from django.core.exceptions import ImproperlyConfigured

# Checked before base runs, so a misconfigured production process never starts
# embedded servers and says exactly what is missing.
_missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL") if not environ.Env().str(name, default="")]
if _missing:
    raise ImproperlyConfigured(
        f"{', '.join(_missing)} not set. Production mode (olympus.settings.production) reads them from the "
        "environment: a long random SECRET_KEY (python -c 'import secrets; print(secrets.token_urlsafe(50))') "
        "and the URLs of PostgreSQL and Redis (embedded servers are for development only)."
    )

from .base import *  # noqa: E402, F403
from .base import LOGGING, env  # noqa: E402

DEBUG = False
OLYMPUS_PRODUCTION = True

LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["default"]["formatter"] = LOG_FORMAT

WHITENOISE_USE_FINDERS = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^live$", r"^ready$", r"^health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
ENVIRONMENT = env.str("ENVIRONMENT", default="production")
