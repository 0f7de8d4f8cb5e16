from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "apps.organizations"
    label = "organizations"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.organizations import signals

        # New codenames in ROLE_PERMISSIONS reach every organization's role groups after `migrate`.
        post_migrate.connect(signals.sync_role_permissions_after_migrate, sender=self)
