"""Bare comparison views for `make bench` (mounted only when OLYMPUS_BENCH_ROUTES is set)."""

from django.urls import path

from apps.catalog.bench import bare_product_list

urlpatterns = [
    path("products-bare/", bare_product_list),
]
