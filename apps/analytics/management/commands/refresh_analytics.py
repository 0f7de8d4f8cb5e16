from django.core.management.base import BaseCommand

from apps.analytics.services import analytics_refresh


class Command(BaseCommand):
    help = "Refresh the analytics materialized views now (CONCURRENTLY unless --blocking)."

    def add_arguments(self, parser):
        parser.add_argument("--blocking", action="store_true", help="Plain REFRESH (locks readers out; faster).")

    def handle(self, *args, blocking: bool = False, **options):
        timings = analytics_refresh(concurrently=not blocking)
        if timings is None:
            self.stdout.write("A refresh is already running; nothing done.")
            return
        for view, seconds in timings.items():
            self.stdout.write(f"{view}: refreshed in {seconds}s")
