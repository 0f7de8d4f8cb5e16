from django.urls import path

from apps.billing.api import payments, views

organization_billing = views.OrganizationBillingViewSet

urlpatterns = [
    path("billing/plans/", views.PlanViewSet.as_view({"get": "list"}), name="billing-plans"),
    path("billing/checkout", views.CheckoutView.as_view(), name="billing-checkout"),
    path("billing/portal", views.PortalView.as_view(), name="billing-portal"),
    path(
        "organizations/<uuid:organization_pk>/billing/",
        organization_billing.as_view({"get": "retrieve"}),
        name="organization-billing",
    ),
    path(
        "organizations/<uuid:organization_pk>/billing/cancel",
        organization_billing.as_view({"post": "cancel"}),
        name="organization-billing-cancel",
    ),
    path(
        "organizations/<uuid:organization_pk>/billing/resume",
        organization_billing.as_view({"post": "resume"}),
        name="organization-billing-resume",
    ),
    # Beside the orders router's actions (orders/{id}/confirm/, .../refund/): same trailing slash.
    path("orders/<uuid:order_id>/payment/", payments.OrderPaymentView.as_view(), name="order-payment"),
]
