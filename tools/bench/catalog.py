"""Product-list benchmark over HTTP: the API (cold and cached) against a bare Django view.

Needs committed rows for the server process: it creates its own organization
with 1,000 products and deletes it afterwards.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse

from apps.catalog.models import Product
from apps.organizations.models import Organization
from tools.bench.runner import load, serve

BENCH_SLUG = "bench-catalog"
ROWS = 1000
SECONDS = 5.0


def bare_product_list(request: HttpRequest) -> JsonResponse:
    """The floor: the same 100 rows as the API page, `values()` straight to JSON."""
    rows = list(
        Product.objects.public()
        .filter(organization__slug=request.GET["organization"], organization__deleted_at__isnull=True)
        .order_by("-created_at", "-id")
        .values()[:100]
    )
    return JsonResponse({"results": rows})


def _bench_organization() -> Organization:
    Organization.objects.filter(slug=BENCH_SLUG).delete()
    organization = Organization.objects.create(name="Bench Catalog", slug=BENCH_SLUG, settings={"currency": "USD"})
    Product.objects.bulk_create(
        Product(
            organization=organization,
            name=f"Bench product {n}",
            slug=f"bench-{n}",
            description="A product for benchmarking the list endpoint. " * 3,
            price_cents=100 + n,
            currency="USD",
            sku=f"B-{n:05d}",
            inventory_quantity=n % 50,
            attributes={"n": n, "color": "blue"},
            images=[f"https://img.example.com/{n}.png"],
            status=Product.Status.ACTIVE,
        )
        for n in range(ROWS)
    )
    return organization


def product_list_http() -> dict:
    organization = _bench_organization()
    try:
        with serve() as port:
            query = f"organization={BENCH_SLUG}&page_size=100"
            # warm up every path (imports, connections) before measuring
            for path in (f"/bench/products-bare/?{query}", f"/api/v1/products/?{query}"):
                load(port, path, seconds=1, concurrency=2)
            bare = load(port, f"/bench/products-bare/?{query}", seconds=SECONDS)
            # a unique, ignored parameter per request: every request misses the cache
            cold = load(port, f"/api/v1/products/?{query}&nocache={{n}}-{uuid.uuid4().hex[:6]}", seconds=SECONDS)
            cached = load(port, f"/api/v1/products/?{query}", seconds=SECONDS)
    finally:
        organization.delete()
    return {
        "bare_rps": bare["rps"],
        "bare_p50_ms": bare["p50_ms"],
        "bare_p99_ms": bare["p99_ms"],
        "uncached_rps": cold["rps"],
        "uncached_p50_ms": cold["p50_ms"],
        "uncached_p99_ms": cold["p99_ms"],
        "cached_rps": cached["rps"],
        "cached_p50_ms": cached["p50_ms"],
        "cached_p99_ms": cached["p99_ms"],
        "uncached_vs_bare": round(cold["rps"] / bare["rps"], 2),
        "cached_vs_bare": round(cached["rps"] / bare["rps"], 2),
        "errors": bare["errors"] + cold["errors"] + cached["errors"],
    }


product_list_http.commits = True  # type: ignore[attr-defined]  # a marker the runner reads

BENCHMARKS = [product_list_http]
