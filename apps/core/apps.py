from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun
        from django.utils.module_loading import autodiscover_modules

        from apps.core import observability, replicas, tracing

        observability.init_sentry()
        # OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set: web and worker alike (issue 17).
        tracing.tracing_init()
        # Each app registers its outbox event handlers in its events.py.
        autodiscover_modules("events")
        # Each Celery task is a read-your-writes scope of its own (issue 17: read replicas).
        task_prerun.connect(replicas.task_scope_enter, weak=False, dispatch_uid="olympus.replicas.enter")
        task_postrun.connect(replicas.task_scope_exit, weak=False, dispatch_uid="olympus.replicas.exit")
