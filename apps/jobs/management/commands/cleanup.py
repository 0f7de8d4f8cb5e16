from django.core.management.base import BaseCommand

from apps.jobs.housekeeping import run_cleanup


class Command(BaseCommand):
    help = "Run the nightly cleanup now (every app's cleanup steps) and print what each removed."

    def handle(self, *args, **options):
        for name, count in run_cleanup().items():
            self.stdout.write(f"{name}: {'FAILED' if count < 0 else count}")
