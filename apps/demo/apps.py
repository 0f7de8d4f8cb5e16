from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run` (`manage.py seed_demo`): above every domain app, so apps.core stays a kernel."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo data"
