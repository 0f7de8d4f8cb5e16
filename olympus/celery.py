"""The Celery app: queues per concern, routing by task module, safe defaults."""

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.dev")

app = Celery("olympus")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_configure.connect
def _ensure_services(sender: Celery, **kwargs: object) -> None:
    """Before Celery first reads the settings (a worker or beat started on its own): the services.

    In a process that already bootstrapped (web, tests) the URLs are set and this does nothing.
    """
    from olympus.bootstrap import ensure_services

    ensure_services()


@signals.setup_logging.connect
def _log_like_the_web(**kwargs: object) -> None:
    """Worker and beat log through Django's LOGGING, as the web does (JSON lines with the service,
    version, environment, request and trace ids in production), instead of Celery's own format."""
    import logging
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    logging.captureWarnings(True)  # Python warnings become log lines too


QUEUES = ("default", "emails", "webhooks", "orders", "analytics", "maintenance")

# One exchange and routing key per queue: a message routed to "emails" reaches that queue only.
app.conf.task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]
app.conf.task_default_queue = "default"
app.conf.task_default_exchange = "default"
app.conf.task_default_routing_key = "default"
# Every task of an app lands on that concern's queue; workers scale by queue.
app.conf.task_routes = {
    "apps.core.tasks.*": {"queue": "default"},
    "apps.accounts.tasks.*": {"queue": "emails"},
    "apps.organizations.tasks.*": {"queue": "emails"},
    # Exact names win over the module patterns below.
    "apps.webhooks.tasks.send_endpoint_disabled_email": {"queue": "emails"},
    "apps.webhooks.tasks.*": {"queue": "webhooks"},
    "apps.orders.tasks.send_order_email": {"queue": "emails"},  # exact names win over the globs
    "apps.orders.tasks.*": {"queue": "orders"},
    # Stripe events are processed on the webhooks queue, billing emails on the emails queue.
    "apps.billing.tasks.stripe_*": {"queue": "webhooks"},
    "apps.billing.tasks.send_payment_failed_email": {"queue": "emails"},
    "apps.billing.tasks.send_subscription_confirmation_email": {"queue": "emails"},
    "apps.billing.tasks.*": {"queue": "orders"},
    "apps.analytics.tasks.*": {"queue": "analytics"},
    "apps.audit.tasks.*": {"queue": "maintenance"},
    "apps.jobs.tasks.send_weekly_summary": {"queue": "emails"},
    "apps.jobs.tasks.*": {"queue": "maintenance"},
}


class RetryDefaults:
    """Retry defaults for tasks declared with autoretry_for: exponential backoff with jitter.

    A retry waits in the worker, unacknowledged, for its countdown; past the broker's
    visibility timeout Redis would hand it out a second time, so the longest wait stays
    under it (``CELERY_RETRY_BACKOFF_MAX``, issue 18). Read when tasks are bound, after
    settings are loaded.
    """

    def annotate(self, task: object) -> dict[str, object]:
        from django.conf import settings

        return {
            "retry_backoff": True,
            "retry_backoff_max": settings.CELERY_RETRY_BACKOFF_MAX,
            "retry_jitter": True,
            "max_retries": 8,
        }


app.conf.task_annotations = [RetryDefaults()]
app.autodiscover_tasks()
