from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.reviews.api.views import ProductReviewsView, ReviewViewSet

router = DefaultRouter()
router.register("reviews", ReviewViewSet, basename="review")

urlpatterns = [
    path("products/<uuid:product_pk>/reviews/", ProductReviewsView.as_view(), name="product-reviews"),
    *router.urls,
]
