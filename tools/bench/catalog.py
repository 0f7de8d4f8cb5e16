"""Product-list benchmark over HTTP: the API (cold and cached) against a bare Django view.

Needs committed rows for the server process: it creates its own organization
with 1,000 products and deletes it afterwards.
"""

from __future__ import annotations

import os
import uuid

from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, JsonResponse

from apps.catalog.models import Product, ProductVariant
from apps.organizations.models import Organization
from tools.bench.runner import generator, load, serve

BENCH_SLUG = "bench-catalog"
ROWS = 1000
ROUNDS = int(os.environ.get("CATALOG_BENCH_ROUNDS", "5"))
SECONDS = float(os.environ.get("CATALOG_BENCH_SECONDS", "3"))
WARMUP_SECONDS = 2.0
# Each row's variants as one JSON array, read in the same query (the floor does what the page shows).
VARIANTS_JSON = RawSQL(  # noqa: S611 - a constant statement
    "SELECT COALESCE(json_agg(json_build_object('id', v.id, 'product', v.product_id, 'sku', v.sku, "
    "'option_values', v.option_values, 'price_cents', v.price_cents, "
    "'compare_at_price_cents', v.compare_at_price_cents, 'track_inventory', v.track_inventory, "
    "'inventory_quantity', v.inventory_quantity, 'allow_backorder', v.allow_backorder, 'position', v.position, "
    "'is_default', v.is_default) ORDER BY v.position, v.created_at, v.id), '[]')::text "
    'FROM catalog_productvariant v WHERE v.product_id = "catalog_product"."id"',
    [],
    output_field=TextField(),
)


def bare_product_list(request: HttpRequest) -> JsonResponse:
    """The floor: the same 100 rows as the API page, `values()` straight to JSON."""
    rows = list(
        Product.objects.public()
        .filter(organization__slug=request.GET["organization"], organization__deleted_at__isnull=True)
        .order_by("-created_at", "-id")
        # Each row with its variants, as the page shows them (one JSON array per row, in the same query).
        .values(*(f.attname for f in Product._meta.concrete_fields), variants_json=VARIANTS_JSON)[:100]
    )
    return JsonResponse({"results": rows})


def _bench_organization() -> Organization:
    Organization.objects.filter(slug=BENCH_SLUG).delete()
    organization = Organization.objects.create(name="Bench Catalog", slug=BENCH_SLUG, settings={"currency": "USD"})
    products = Product.objects.bulk_create(
        Product(
            organization=organization,
            name=f"Bench product {n}",
            slug=f"bench-{n}",
            description="A product for benchmarking the list endpoint. " * 3,
            price_cents=100 + n,
            currency="USD",
            variant_skus=f"B-{n:05d}",
            attributes={"n": n, "color": "blue"},
            # The shape uploads keep (issue 16); the bench reads lists only, so no ProductImage rows.
            images=[
                {
                    "id": str(uuid.UUID(int=n + 1)),
                    "url": f"https://img.example.com/{n}.png",
                    "width": 800,
                    "height": 800,
                    "alt": "",
                    "position": 0,
                }
            ],
            status=Product.Status.ACTIVE,
        )
        for n in range(ROWS)
    )
    ProductVariant.objects.bulk_create(
        ProductVariant(
            organization=organization, product=product, sku=f"B-{n:05d}", inventory_quantity=n % 50, is_default=True
        )
        for n, product in enumerate(products)
    )
    return organization


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def product_list_http() -> dict:
    """Bare view, API uncached, API cached: interleaved in rounds after one common warm-up.

    The rate-limit tiers are on (rates raised out of reach, so every request still checks
    its buckets). Ratios are the median of the rounds' ratios: the modes of one round run
    back to back, and this shared machine drifts by ±30 % within a minute.
    """
    organization = _bench_organization()
    query = f"organization={BENCH_SLUG}&page_size=100"
    paths = {
        "bare": f"/bench/products-bare/?{query}",
        # a unique, ignored parameter per request: every request misses the cache
        "uncached": f"/api/v1/products/?{query}&nocache={{n}}",
        "cached": f"/api/v1/products/?{query}",
    }
    rounds: list[dict[str, dict]] = []
    try:
        with serve() as port:
            for path in paths.values():  # warm every path and worker up (imports, connections, the cached page)
                load(port, path, seconds=WARMUP_SECONDS, concurrency=4)
            for n in range(ROUNDS):
                # rotate which mode goes first, so no mode always follows the same one
                order = list(paths)[n % 3 :] + list(paths)[: n % 3]
                rounds.append({mode: load(port, paths[mode], seconds=SECONDS) for mode in order})
    finally:
        organization.delete()
    figures: dict = {"generator": generator(), "rounds": ROUNDS, "seconds": SECONDS}
    for mode in paths:
        figures[f"{mode}_rps"] = round(_median([r[mode]["rps"] for r in rounds]), 1)
        figures[f"{mode}_p50_ms"] = round(_median([r[mode]["p50_ms"] for r in rounds]), 2)
        figures[f"{mode}_p99_ms"] = round(_median([r[mode]["p99_ms"] for r in rounds]), 2)
        figures[f"{mode}_generator_cpu"] = round(_median([r[mode]["generator_cpu_share"] for r in rounds]), 3)
        if all("server_cpu_ms" in r[mode] for r in rounds):
            figures[f"{mode}_server_cpu_ms"] = round(_median([r[mode]["server_cpu_ms"] for r in rounds]), 2)
    for mode, target in (("uncached", 0.8), ("cached", 3.0)):
        ratios = [r[mode]["rps"] / r["bare"]["rps"] for r in rounds if r["bare"]["rps"]]
        figures[f"{mode}_vs_bare"] = round(_median(ratios), 2)
        figures[f"{mode}_vs_bare_range"] = f"{min(ratios):.2f}-{max(ratios):.2f}"
        figures[f"{mode}_vs_bare_target"] = f">={target}"
        if f"{mode}_server_cpu_ms" in figures and figures[f"{mode}_server_cpu_ms"]:
            # requests per CPU second against the bare view's: the ratio a CPU-bound server would reach
            cpu = [r["bare"]["server_cpu_ms"] / r[mode]["server_cpu_ms"] for r in rounds if r[mode]["server_cpu_ms"]]
            figures[f"{mode}_vs_bare_by_cpu"] = round(_median(cpu), 2)
    figures["errors"] = sum(r[mode]["errors"] for r in rounds for mode in paths)
    return figures


product_list_http.commits = True  # type: ignore[attr-defined]  # a marker the runner reads

BENCHMARKS = [product_list_http]
