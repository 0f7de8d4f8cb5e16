from rest_framework.routers import SimpleRouter

from apps.audit.api import views

router = SimpleRouter(use_regex_path=False)
router.register("organizations/<uuid:organization_pk>/audit-logs", views.AuditLogViewSet, basename="audit-log")

urlpatterns = router.urls
