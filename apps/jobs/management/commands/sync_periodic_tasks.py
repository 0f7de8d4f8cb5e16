from django.core.management.base import BaseCommand

from apps.jobs.beat import periodic_tasks_sync


class Command(BaseCommand):
    help = "Create the beat entries of CELERY_BEAT_SCHEDULE that are missing (idempotent; admin edits stay)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Also overwrite existing entries with the defaults.")

    def handle(self, *args, reset: bool = False, **options):
        report = periodic_tasks_sync(reset=reset)
        for state in ("created", "reset", "kept"):
            for name in report[state]:
                self.stdout.write(f"{state:8} {name}")
