from django.core.management.base import BaseCommand

from apps.organizations.services import role_permissions_sync


class Command(BaseCommand):
    help = "Give every organization's role groups exactly the ROLE_PERMISSIONS grants (also runs after migrate)."

    def handle(self, *args, **options):
        changed = role_permissions_sync()
        self.stdout.write(self.style.SUCCESS(f"Role permissions in sync ({changed} grant(s) added or removed)."))
