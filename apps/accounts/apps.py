from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Register the OpenAPI extension of the session-aware JWT authentication and the
        # deploy check for published passwords (olympus.E001).
        from apps.accounts import checks, schema  # noqa: F401
