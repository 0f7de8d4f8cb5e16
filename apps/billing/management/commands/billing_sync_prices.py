"""Create the Stripe prices of the paid plans (once) and store their ids on the plans."""

from django.core.management.base import BaseCommand

from apps.billing.services import plan_prices_sync


class Command(BaseCommand):
    help = "Create (or find by lookup key) the Stripe prices of every active paid plan and store their ids."

    def handle(self, *args, **options) -> None:
        result = plan_prices_sync()
        for code, prices in result.items():
            self.stdout.write(f"  {code}: " + ", ".join(f"{key}={value}" for key, value in prices.items()))
        self.stdout.write(self.style.SUCCESS(f"Stripe prices ready for {len(result)} plan(s)."))
