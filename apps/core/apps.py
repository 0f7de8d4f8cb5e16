from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from apps.core import observability, tracing

        observability.init_sentry()
        # OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set: web and worker alike (issue 17).
        tracing.tracing_init()
        # Each app registers its outbox event handlers in its events.py.
        autodiscover_modules("events")
