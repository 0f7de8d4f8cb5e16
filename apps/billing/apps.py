from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from apps.billing.services.payments import StripeRefunds
        from apps.billing.services.plans import PlanTable
        from apps.entitlements import directory_register
        from apps.orders.payments import payment_refunds_register

        # The plan checks of the apps below billing read the plan table through this.
        directory_register(PlanTable())

        # Orders hand refunds of money paid online to billing (orders never import billing).
        payment_refunds_register(StripeRefunds())
