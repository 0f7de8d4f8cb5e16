from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from apps.billing.services.payments import StripeRefunds
        from apps.billing.services.plans import PlanTable, user_rate_limit_factor
        from apps.core.throttles import plan_factor_register
        from apps.entitlements import directory_register
        from apps.orders.payments import payment_refunds_register

        # The plan checks of the apps below billing read the plan table through this.
        directory_register(PlanTable())
        # A plan may raise its members' API rates (RATE_LIMIT_PLAN_FACTORS).
        plan_factor_register(user_rate_limit_factor)

        # Orders hand refunds of money paid online to billing (orders never import billing).
        payment_refunds_register(StripeRefunds())
