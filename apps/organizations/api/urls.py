from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.organizations.api import views

router = SimpleRouter(use_regex_path=False)
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("organizations/<uuid:organization_pk>/members", views.MembershipViewSet, basename="organization-member")
router.register(
    "organizations/<uuid:organization_pk>/invitations", views.InvitationViewSet, basename="organization-invitation"
)

urlpatterns = [
    *router.urls,
    path("invitations/accept/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
]
