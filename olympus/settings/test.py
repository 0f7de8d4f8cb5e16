"""The test suite: real PostgreSQL and Redis (embedded unless the URLs are set).

Each pytest-xdist worker gets its own cache key prefix; the broker uses its own
Redis database so a running ``make run`` never picks up the tests' tasks.
"""

import os
import tempfile
from pathlib import Path

from olympus.service_urls import redis_url

from .base import *  # noqa: F403
from .base import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, REDIS_URL, env

DEBUG = False
SECRET_KEY = "test-olympus-key-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: hashing is not under test here
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
CACHE_KEY_PREFIX = f"olympus-test-{_worker}"
CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX

REDIS_BROKER_DB = env.int("TEST_REDIS_BROKER_DB", default=14)
# TEST_CELERY_BROKER_URL: a test's own worker and beat on another broker (RabbitMQ, issue 17).
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="") or redis_url(
    REDIS_URL, REDIS_BROKER_DB, for_celery=True
)
CELERY_RESULT_BACKEND = redis_url(REDIS_URL, REDIS_BROKER_DB, for_celery=True)
# Tasks run in-process unless a test starts a real worker (see apps/core/tests).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = False

# Webhook tests deliver to a local HTTP server on the loopback: allowed explicitly, nothing else is.
WEBHOOK_ALLOW_HTTP_HOSTS = ["127.0.0.1", "localhost"]
WEBHOOK_ALLOWED_ADDRESSES = ["127.0.0.1/32"]
WEBHOOK_TIMEOUT_SECONDS = 3.0
HEALTH_WORKER_PING_TIMEOUT = 0.3
# Stripe: never the real one. Tests that talk to Stripe use the localstripe server of the
# `stripe_server` fixture (apps/billing/tests/stripe_server.py); anything else fails fast here.
STRIPE_SECRET_KEY = "sk_test_olympus"  # noqa: S105 - not a secret: localstripe accepts any sk_ key
STRIPE_PUBLISHABLE_KEY = "pk_test_olympus"
STRIPE_API_BASE = "http://127.0.0.1:9"
STRIPE_MAX_NETWORK_RETRIES = 0
STRIPE_WEBHOOK_SECRET = "whsec_test_current"  # noqa: S105
STRIPE_WEBHOOK_SECRETS = ["whsec_test_current", "whsec_test_previous"]
BILLING_REDIRECT_HOSTS = ["app.example.com", ".shop.example.com", "localhost"]
# Issue 15: probes get a generous deadline on a busy test machine (the hung-dependency test sets its own).
HEALTH_TIMEOUT_SECONDS = 5.0
HEALTH_TOKEN = "test-health-token"  # noqa: S105
METRICS_TOKEN = "test-metrics-token"  # noqa: S105


# issue 18: production uses short Redis timeouts (0.3 s connect, 0.5 s read); the suite shares
# two busy cores with other runs, so its own cache waits longer before calling Redis "down".
# Fault tests start their servers with the production values (see apps/core/tests/servers.py).
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=2.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
CACHES["default"]["OPTIONS"].update(
    {"SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT, "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT}
)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
}
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_CONNECT_TIMEOUT
# Likewise a new PostgreSQL backend may take a while to start on a loaded machine.
DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=10)

# Product images (issue 16): each worker stores uploads under its own temporary directory, never
# in the checkout's .data/media; the S3 tests point a storage at their own moto server.
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"olympus-test-media-{_worker}"
