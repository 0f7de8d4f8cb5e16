from rest_framework.routers import SimpleRouter

from apps.webhooks.api import views

router = SimpleRouter(use_regex_path=False)
router.register("organizations/<uuid:organization_pk>/webhooks", views.WebhookEndpointViewSet, basename="webhook")
router.register(
    "organizations/<uuid:organization_pk>/webhooks/<uuid:endpoint_pk>/deliveries",
    views.WebhookDeliveryViewSet,
    basename="webhook-delivery",
)

urlpatterns = router.urls
