from django.core.management.base import BaseCommand

from apps.audit.services import audit_partitions_maintain, partition_months


class Command(BaseCommand):
    help = (
        "Maintain the monthly audit log partitions: create the current and next months, move rows out of "
        "the DEFAULT partition, drop months past AUDIT_RETENTION_MONTHS. Safe to run any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=None, help="Months to keep created ahead (default: setting).")
        parser.add_argument(
            "--retention-months", type=int, default=None, help="Months kept before the current one (default: setting)."
        )

    def handle(self, *args, **options):
        report = audit_partitions_maintain(ahead=options["ahead"], retention_months=options["retention_months"])
        self.stdout.write(self.style.SUCCESS(f"Audit partitions: {report}."))
        months = sorted(partition_months())
        if months:
            self.stdout.write(f"Partitions now: {months[0]:%Y-%m} … {months[-1]:%Y-%m} ({len(months)} months).")
