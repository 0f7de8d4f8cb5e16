from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.reviews.api.views import ModerationQueueView, ProductReviewsView, ReviewViewSet

router = DefaultRouter()
router.register("reviews", ReviewViewSet, basename="review")

urlpatterns = [
    path("products/<uuid:product_pk>/reviews/", ProductReviewsView.as_view(), name="product-reviews"),
    path("organizations/<uuid:organization_pk>/reviews/", ModerationQueueView.as_view(), name="moderation-queue"),
    *router.urls,
]
