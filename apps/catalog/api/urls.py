from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.catalog.api.categories import CategoryViewSet
from apps.catalog.api.images import ProductImageDetailView, ProductImagesView
from apps.catalog.api.views import ProductViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = [
    path("products/<uuid:product_pk>/images/", ProductImagesView.as_view(), name="product-images"),
    path(
        "products/<uuid:product_pk>/images/<uuid:image_pk>/",
        ProductImageDetailView.as_view(),
        name="product-image-detail",
    ),
    *router.urls,
]
