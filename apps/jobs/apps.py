from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The Celery side: dead letters for every task, task metrics, the beat schedule, housekeeping."""

    name = "apps.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from apps.jobs import metrics, signals  # noqa: F401 - connects the Celery signal receivers

        metrics.register_collector()
