from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Celery signal receivers that carry the audit context into tasks.
        from apps.audit import celery_context  # noqa: F401
