"""The URLconf of `make bench` servers: Olympus's own routes plus bare comparison views under /bench/."""

from django.urls import include, path

from tools.bench.catalog import bare_product_list

urlpatterns = [
    path("bench/products-bare/", bare_product_list),
    path("", include("olympus.urls")),
]

handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
