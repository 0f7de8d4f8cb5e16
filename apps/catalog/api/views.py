import hashlib
import uuid

from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters as drf_filters
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.catalog import cache as catalog_cache
from apps.catalog import selectors, services
from apps.catalog.filters import ProductFilter
from apps.catalog.serializers import (
    BulkUpdateSerializer,
    InventoryAdjustSerializer,
    ProductCreateSerializer,
    ProductOutputSerializer,
    ProductWriteSerializer,
    VariantOutputSerializer,
    VariantWriteSerializer,
    render_page,
    represent_rows,
    row_values,
)
from apps.core.exceptions import ValidationError
from apps.core.openapi import documented_error
from apps.core.pagination import CursorPagination
from apps.organizations.permissions import request_permissions, resolve_organization

# Query parameters that filter; with none of them but ``organization``, a miss skips the filterset.
FILTERS_BESIDES_ORGANIZATION = frozenset(ProductFilter.base_filters) - {"organization"}

# Anonymous reads may be kept by browsers and shared caches this long; a signed-in reader's view (stock
# figures for members) is private and revalidated every time (a 304 when nothing changed).
PUBLIC_MAX_AGE = 60


def conditional_json(request, body: bytes) -> HttpResponse:
    """The JSON body with its ETag and Cache-Control, or 304 Not Modified when ``If-None-Match`` names it."""
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    response = get_conditional_response(request._request, etag=etag) or HttpResponse(
        body, content_type="application/json"
    )
    response["ETag"] = etag
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, no_cache=True)
    else:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    # Who asks changes the answer (members see stock figures): caches key on the credentials.
    patch_vary_headers(response, ("Authorization", "Cookie"))
    return response


class ProductPagination(CursorPagination):
    def get_ordering(self, request, queryset, view):
        # A search without an explicit ordering keeps the search's own (newest matches, or most similar names).
        if request.query_params.get("search", "").strip() and not request.query_params.get("ordering"):
            return selectors.search_order(queryset)
        ordering = super().get_ordering(request, queryset, view)
        # A unique tie-breaker keeps cursors stable when names or prices repeat.
        return (*ordering, "-id") if "-id" not in ordering and "id" not in ordering else ordering


_NOT_MODIFIED = OpenApiResponse(description="Not Modified: `If-None-Match` names the current `ETag`.")
_CONDITIONAL = [
    OpenApiParameter(
        "If-None-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="An `ETag` of an earlier answer: 304 without a body when nothing changed.",
    )
]


@extend_schema_view(
    list=extend_schema(
        summary="List products (members: all of their organizations'; others: active ones)",
        parameters=_CONDITIONAL,
        responses={200: ProductOutputSerializer(many=True), 304: _NOT_MODIFIED},
    ),
    retrieve=extend_schema(
        summary="Read a product", parameters=_CONDITIONAL, responses={200: ProductOutputSerializer, 304: _NOT_MODIFIED}
    ),
)
class ProductViewSet(viewsets.GenericViewSet):
    """Products. Reads are public for active products and cached per organization version."""

    serializer_class = ProductOutputSerializer
    filterset_class = ProductFilter
    filter_backends = [drf_filters.OrderingFilter]
    ordering_fields = ("name", "price_cents", "created_at")
    ordering = ("-created_at",)
    pagination_class = ProductPagination
    # Creating products also counts against its own tier (apps/core/throttles.py).
    rate_limit_tiers = {"create": "product_create"}
    lookup_value_regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def get_permissions(self):
        if self.action in {"list", "retrieve"}:
            return [AllowAny()]
        if self.action in {"variants", "variant_detail"} and self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_queryset(self):
        return selectors.visible_products(user=self.request.user)

    # --- reads -------------------------------------------------------------------

    @property
    def rate_limit_deferred(self) -> bool:
        # The list checks the caller's rate limits in the same Redis round trip as its cache read.
        return self.action == "list"

    def list(self, request):
        member_of = selectors.member_organization_ids(user=request.user)
        organization = request.query_params.get("organization") or None

        def compute(organization_id: uuid.UUID | None) -> bytes:
            visible = selectors.visible_products(user=request.user, member_of=member_of)
            if organization_id is not None and not FILTERS_BESIDES_ORGANIZATION & request.query_params.keys():
                # Only the organization filter, already resolved by the cache lookup: no filterset to run.
                queryset = visible.filter(organization_id=organization_id)
            else:
                # Invalid filters never reach the cache, so they are checked on a miss only.
                filterset = ProductFilter(request.query_params, queryset=visible, request=request)
                if not filterset.is_valid():
                    raise ValidationError(details=filterset.errors)
                queryset = filterset.qs
            page = self.paginate_queryset(row_values(self.filter_queryset(queryset), member_of))
            fragments: list[str] = []
            data = self.paginator.get_paginated_response(represent_rows(page, fragments)).data
            return render_page(data, fragments)

        # The page is cached as rendered JSON: a hit is one Redis round trip (rate limits included).
        body = catalog_cache.list_page(
            request,
            self,
            organization=organization,
            member_of=member_of,
            material=[
                # One organization's page: member or public view (chosen in the script); all: the caller's set.
                "" if organization else sorted(str(i) for i in member_of) or "public",
                request.build_absolute_uri("/"),
                sorted(request.query_params.lists()),
            ],
            resolve=selectors.resolve_organization,
            compute=compute,
        )
        return conditional_json(request, body)

    def retrieve(self, request, pk=None):
        product = selectors.product_get(user=request.user, product_id=pk)
        member_of = selectors.member_organization_ids(user=request.user)
        view = "member" if product.organization_id in member_of else "public"
        key = catalog_cache.make_key(
            "detail", catalog_cache.versions([str(product.organization_id)]), view, str(product.pk)
        )
        body = catalog_cache.get_or_compute(
            key,
            "detail",
            lambda: JSONRenderer().render(ProductOutputSerializer(product, context={"member_of": member_of}).data),
        )
        return conditional_json(request, body)

    # --- writes ------------------------------------------------------------------

    def _for_change(self, pk):
        """The product (another tenant's: 404) and the caller's permissions on its organization (read once)."""
        product = selectors.product_get_for_change(user=self.request.user, product_id=pk)
        return product, {
            "actor": self.request.user,
            "permissions": request_permissions(self.request, product.organization),
        }

    def _member_output(self, product, status_code=status.HTTP_200_OK):
        context = {"member_of": frozenset({product.organization_id})}
        return Response(ProductOutputSerializer(product, context=context).data, status=status_code)

    @extend_schema(
        summary="Create a product (member+ of the organization)",
        request=ProductCreateSerializer,
        responses={
            201: ProductOutputSerializer,
            402: documented_error("402"),
            404: documented_error("404", "NOT_FOUND: the organization does not exist or is not yours."),
            409: documented_error("409", "CONFLICT: the slug or SKU is taken in the organization."),
        },
    )
    def create(self, request):
        serializer = ProductCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # Another tenant's organization answers 404 like a missing one.
        organization = resolve_organization(request, data.pop("organization"))
        product = services.product_create(
            organization=organization,
            data=data,
            status=data.pop("status", None),
            actor=request.user,
            permissions=request_permissions(request, organization),
        )
        return self._member_output(product, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a product (member+)",
        request=ProductWriteSerializer,
        responses={
            200: ProductOutputSerializer,
            400: documented_error(
                "400", "VALIDATION_ERROR; MULTIPLE_VARIANTS: SKU or stock fields on a product with several variants."
            ),
            409: documented_error("409", "CONFLICT: the slug or SKU is taken in the organization."),
        },
    )
    def partial_update(self, request, pk=None):
        product, caller = self._for_change(pk)
        serializer = ProductWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(product=product, data=serializer.validated_data, **caller)
        return self._member_output(product)

    @extend_schema(
        summary="Delete a product (admin+; soft delete)",
        responses={204: OpenApiResponse(description="Deleted (soft).")},
    )
    def destroy(self, request, pk=None):
        product, caller = self._for_change(pk)
        services.product_delete(product=product, **caller)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Publish a product (member+)", request=None, responses={200: ProductOutputSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        product, caller = self._for_change(pk)
        product = services.product_publish(product=product, **caller)
        return self._member_output(product)

    @extend_schema(summary="Archive a product (member+)", request=None, responses={200: ProductOutputSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        product, caller = self._for_change(pk)
        product = services.product_archive(product=product, **caller)
        return self._member_output(product)

    @extend_schema(
        summary="Adjust stock atomically (member+); 409 INSUFFICIENT_STOCK below zero without backorder",
        request=InventoryAdjustSerializer,
        responses={
            200: ProductOutputSerializer,
            400: documented_error("400", "VALIDATION_ERROR; MULTIPLE_VARIANTS: name the `variant` to adjust."),
            404: documented_error("404", "NOT_FOUND: the product, or the variant among its variants."),
            409: documented_error("409", "INSUFFICIENT_STOCK: stock would fall below zero (no backorder)."),
        },
    )
    @action(detail=True, methods=["post"], url_path="adjust-inventory")
    def adjust_inventory(self, request, pk=None):
        product, caller = self._for_change(pk)
        serializer = InventoryAdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_adjust_inventory(product=product, **serializer.validated_data, **caller)
        return self._member_output(product)

    # --- variants ----------------------------------------------------------------

    def _variant_output(self, variant, status_code=status.HTTP_200_OK):
        context = {"member_of": frozenset({variant.organization_id})}
        return Response(VariantOutputSerializer(variant, context=context).data, status=status_code)

    @extend_schema(
        methods=["GET"],
        summary="List a product's variants (stock figures for members only)",
        responses={200: VariantOutputSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a variant to a product (member+)",
        request=VariantWriteSerializer,
        responses={
            201: VariantOutputSerializer,
            409: documented_error("409", "CONFLICT: another variant of the product has these option values."),
        },
    )
    @action(detail=True, methods=["get", "post"], url_path="variants")
    def variants(self, request, pk=None):
        if request.method == "GET":
            member_of = selectors.member_organization_ids(user=request.user)
            product = selectors.product_get(user=request.user, product_id=pk, member_of=member_of)
            variants = selectors.product_variants(product=product).select_related("product")
            context = {"member_of": member_of, "product_price_cents": product.price_cents}
            return Response(VariantOutputSerializer(variants, many=True, context=context).data)
        product, caller = self._for_change(pk)
        serializer = VariantWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variant = services.variant_create(product=product, data=serializer.validated_data, **caller)
        return self._variant_output(variant, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], summary="Read a variant", responses={200: VariantOutputSerializer})
    @extend_schema(
        methods=["PATCH"],
        summary="Change a variant (member+)",
        request=VariantWriteSerializer,
        responses={
            200: VariantOutputSerializer,
            409: documented_error("409", "CONFLICT: the SKU or the option values are taken."),
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Delete a variant (member+); the product's last one: 409 CONFLICT",
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: documented_error("409", "CONFLICT: a product keeps at least one variant."),
        },
    )
    @action(
        detail=True,
        methods=["get", "patch", "delete"],
        url_path=r"variants/(?P<variant_id>[0-9a-fA-F-]{36})",
        url_name="variant-detail",
    )
    def variant_detail(self, request, pk=None, variant_id=None):
        if request.method == "GET":
            member_of = selectors.member_organization_ids(user=request.user)
            product = selectors.product_get(user=request.user, product_id=pk, member_of=member_of)
            variant = selectors.variant_get(product=product, variant_id=variant_id)
            return Response(VariantOutputSerializer(variant, context={"member_of": member_of}).data)
        product, caller = self._for_change(pk)
        variant = selectors.variant_get(product=product, variant_id=variant_id)
        if request.method == "DELETE":
            services.variant_delete(variant=variant, **caller)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = VariantWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        variant = services.variant_update(variant=variant, data=serializer.validated_data, **caller)
        return self._variant_output(variant)

    @extend_schema(
        summary="Change status, prices or inventory flags of up to 100 products, all or nothing (member+)",
        request=BulkUpdateSerializer,
        responses={
            200: ProductOutputSerializer(many=True),
            404: documented_error("404", "NOT_FOUND: a product does not exist or is not yours."),
        },
    )
    @action(detail=False, methods=["post"], url_path="bulk-update")
    def bulk_update(self, request):
        serializer = BulkUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["ids"]
        # Products of other tenants are "not found"; those of an organization where
        # the role may not change products are forbidden.
        organizations = selectors.product_organizations(user=request.user, product_ids=ids)
        products = services.product_bulk_update(
            organization_ids=[o.id for o in organizations],
            ids=ids,
            changes=serializer.validated_data["changes"],
            actor=request.user,
            permissions={o.id: request_permissions(request, o) for o in organizations},
        )
        prefetch_related_objects(products, "variants")  # one query for every product's variants
        context = {"member_of": frozenset(p.organization_id for p in products)}
        return Response(ProductOutputSerializer(products, many=True, context=context).data)
