"""Catalog: ``products`` (REST's filters and search), ``product`` and the product mutations.

Reads go through ``apps.catalog.selectors.visible_products`` (members: every
product of their organizations; everyone else: active ones) and REST's
``ProductFilter``; writes call ``apps.catalog.services`` after REST's
permission check and input serializers. Stock figures are for members of the
product's organization only, as in the REST output (null for anyone else).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
import strawberry_django
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from strawberry.scalars import JSON
from strawberry.types import Info

from apps.catalog import images as catalog_images
from apps.catalog import selectors, services
from apps.catalog.filters import ProductFilter
from apps.catalog.models import Category, Product, ProductVariant
from apps.catalog.serializers import (
    BulkUpdateSerializer,
    InventoryAdjustSerializer,
    ProductCreateSerializer,
    ProductWriteSerializer,
    VariantWriteSerializer,
)
from apps.core.exceptions import ValidationError
from apps.graphql.common import BigInt, DjangoCursorConnection, get_list, get_one, page_connection
from apps.graphql.context import context_of
from apps.graphql.inputs import provided, validated
from apps.organizations.selectors import organization_get

if TYPE_CHECKING:
    from apps.graphql.organizations import OrganizationType
    from apps.graphql.reviews import ReviewType

STOCK_FIELDS_NOTE = "Members of the product's organization only; null for anyone else."


@strawberry.enum(description="draft (members only), active (public) or archived (members only).")
class ProductStatus(enum.Enum):
    DRAFT = Product.Status.DRAFT.value
    ACTIVE = Product.Status.ACTIVE.value
    ARCHIVED = Product.Status.ARCHIVED.value


@strawberry.enum(
    description="List order; a search without one lists the newest matches first "
    "(the most similar names when it falls back to typos)."
)
class ProductOrdering(enum.Enum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    NAME = "name"
    NAME_DESC = "-name"
    PRICE = "price_cents"
    PRICE_DESC = "-price_cents"


@strawberry_django.type(Category, name="Category", description="A node of an organization's category tree.")
class CategoryType:
    id: UUID
    name: str
    slug: str
    description: str
    position: int
    depth: int = strawberry_django.field(description="1 for a root.")
    created_at: datetime
    updated_at: datetime

    @strawberry_django.field(only=["organization_id"])
    def organization_id(self, root: Category) -> UUID:
        return root.organization_id

    @strawberry_django.field(annotate={"parent_id": selectors.category_parent_id()}, description="Null for a root.")
    def parent_id(self, root: Category) -> UUID | None:
        return root.parent_id  # annotated (the selector's subquery)

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Category], info: Info, **kwargs: Any) -> QuerySet[Category]:
        # Whatever the path (the list, a product's category): categories of live organizations.
        return queryset.filter(organization__deleted_at__isnull=True)


@strawberry.type(
    name="ProductImage",
    description="One of a product's images, in order (uploads are REST-only: `POST /api/v1/products/{id}/images/`).",
)
class ProductImageType:
    id: UUID
    url: str = strawberry.field(description="The file's URL in the storage (`/media/...` if local), or the URL given.")
    width: int | None = strawberry.field(description="Pixels; null for an image given as a URL.")
    height: int | None = strawberry.field(description="Pixels; null for an image given as a URL.")
    alt: str
    position: int = strawberry.field(description="0 first.")


def _member(root: Product | ProductVariant, info: Info) -> bool:
    return root.organization_id in context_of(info).member_of


def _annotated(root: Any, name: str, compute: Any) -> Any:
    """The list query's annotation ``name``; a mutation's returned row has none: computed (a query)."""
    return getattr(root, name) if hasattr(root, name) else compute()


def _variants_of_row(**filters: Any) -> QuerySet[ProductVariant]:
    return ProductVariant.objects.filter(product=OuterRef("pk"), **filters)


# The product's figures from its variants, as annotations of the list's own query (no query per row).
_DEFAULT_SKU = Subquery(_variants_of_row().order_by("-is_default", "position", "created_at", "id").values("sku")[:1])
_IN_STOCK = Exists(
    _variants_of_row().filter(Q(track_inventory=False) | Q(allow_backorder=True) | Q(inventory_quantity__gt=0))
)
_TRACKED = Exists(_variants_of_row(track_inventory=True))
_BACKORDER = Exists(_variants_of_row(allow_backorder=True))
_STOCK = Coalesce(
    Subquery(
        _variants_of_row(track_inventory=True)
        .values("product")
        .annotate(total=Sum("inventory_quantity"))
        .values("total")
    ),
    0,
)


@strawberry_django.type(
    ProductVariant, name="ProductVariant", description="One sellable version of a product (a size, a colour)."
)
class ProductVariantType:
    id: UUID
    sku: str
    option_values: JSON = strawberry_django.field(description='e.g. {"size": "M", "color": "red"}')
    price_cents: BigInt | None = strawberry_django.field(description="Its own price; null: the product's.")
    compare_at_price_cents: BigInt | None
    position: int
    is_default: bool

    @strawberry_django.field(only=["product_id"])
    def product_id(self, root: ProductVariant) -> UUID:
        return root.product_id

    @strawberry_django.field(
        annotate={"effective_price": Coalesce("price_cents", "product__price_cents")},
        description="What it sells for: its own price, else the product's.",
    )
    def effective_price_cents(self, root: ProductVariant) -> BigInt:
        return _annotated(root, "effective_price", lambda: root.effective_price_cents())

    @strawberry_django.field(only=["track_inventory", "allow_backorder", "inventory_quantity"])
    def in_stock(self, root: ProductVariant) -> bool:
        return root.in_stock

    @strawberry_django.field(only=["organization_id", "track_inventory"], description=STOCK_FIELDS_NOTE)
    def track_inventory(self, root: ProductVariant, info: Info) -> bool | None:
        return root.track_inventory if _member(root, info) else None

    @strawberry_django.field(only=["organization_id", "inventory_quantity"], description=STOCK_FIELDS_NOTE)
    def inventory_quantity(self, root: ProductVariant, info: Info) -> int | None:
        return root.inventory_quantity if _member(root, info) else None

    @strawberry_django.field(only=["organization_id", "allow_backorder"], description=STOCK_FIELDS_NOTE)
    def allow_backorder(self, root: ProductVariant, info: Info) -> bool | None:
        return root.allow_backorder if _member(root, info) else None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[ProductVariant], info: Info, **kwargs: Any) -> QuerySet[ProductVariant]:
        return queryset.order_by("position", "created_at", "id")


@strawberry_django.type(Product, name="Product", description="A sellable item of one organization.")
class ProductType:
    id: UUID
    name: str
    slug: str
    description: str
    price_cents: BigInt
    currency: str
    compare_at_price_cents: BigInt | None
    attributes: JSON
    seo_title: str
    seo_description: str
    status: ProductStatus
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    organization: Annotated[OrganizationType, strawberry.lazy("apps.graphql.organizations")] | None = (
        strawberry_django.field(description="Members of the organization only; null for anyone else.")
    )
    category: CategoryType | None = strawberry_django.field(description="Null when the product has none.")
    rating_count: int = strawberry_django.field(description="Approved reviews.")
    variants: list[ProductVariantType] = strawberry_django.field(
        description="Its variants (at least one), by position; stock figures for members only."
    )
    reviews: DjangoCursorConnection[Annotated[ReviewType, strawberry.lazy("apps.graphql.reviews")]] = page_connection(
        description="Approved reviews, newest first (and the caller's own, whatever its status)."
    )

    @strawberry_django.field(
        only=["rating_sum", "rating_count"], description="Mean of the approved ratings (2 decimals); null: none."
    )
    def rating_average(self, root: Product) -> float | None:
        return root.rating_average

    @strawberry_django.field(only=["organization_id"])
    def organization_id(self, root: Product) -> UUID:
        return root.organization_id

    @strawberry_django.field(only=["images"], description="In order; read from the product itself (no join).")
    def images(self, root: Product) -> list[ProductImageType]:
        return [
            ProductImageType(
                id=UUID(entry["id"]),
                url=entry["url"],
                width=entry.get("width"),
                height=entry.get("height"),
                alt=entry.get("alt", ""),
                position=entry["position"],
            )
            for entry in root.images
        ]

    @strawberry_django.field(annotate={"default_sku": _DEFAULT_SKU}, description="The default variant's SKU.")
    def sku(self, root: Product) -> str:
        return _annotated(root, "default_sku", lambda: root.sku) or ""

    @strawberry_django.field(annotate={"any_in_stock": _IN_STOCK}, description="Any variant can be sold.")
    def in_stock(self, root: Product) -> bool:
        return _annotated(root, "any_in_stock", lambda: root.in_stock)

    @strawberry_django.field(only=["organization_id", "barcode"], description=STOCK_FIELDS_NOTE)
    def barcode(self, root: Product, info: Info) -> str | None:
        return root.barcode if _member(root, info) else None

    @strawberry_django.field(
        only=["organization_id"], annotate={"any_tracked": _TRACKED}, description=STOCK_FIELDS_NOTE
    )
    def track_inventory(self, root: Product, info: Info) -> bool | None:
        return _annotated(root, "any_tracked", lambda: root.track_inventory) if _member(root, info) else None

    @strawberry_django.field(
        only=["organization_id"],
        annotate={"stock_total": _STOCK},
        description=f"All tracked variants' stock together. {STOCK_FIELDS_NOTE}",
    )
    def inventory_quantity(self, root: Product, info: Info) -> int | None:
        return _annotated(root, "stock_total", lambda: root.inventory_quantity) if _member(root, info) else None

    @strawberry_django.field(
        only=["organization_id"],
        annotate={"any_backorder": _BACKORDER},
        description=f"Whether any variant sells on backorder. {STOCK_FIELDS_NOTE}",
    )
    def allow_backorder(self, root: Product, info: Info) -> bool | None:
        return _annotated(root, "any_backorder", lambda: root.allow_backorder) if _member(root, info) else None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Product], info: Info, **kwargs: Any) -> QuerySet[Product]:
        # Whatever the path (a list, an organization's products, an order item's product): only what the
        # catalog selector lets the caller see.
        context = context_of(info)
        visible = queryset & selectors.visible_products(user=context.user, member_of=context.member_of)
        return visible.defer("search_vector")  # for search only, and the widest column


# --- inputs ----------------------------------------------------------------------------------------


@strawberry.input
class ProductFieldsInput:
    name: str | None = strawberry.UNSET
    slug: str | None = strawberry.field(default=strawberry.UNSET, description="From the name when empty.")
    description: str | None = strawberry.UNSET
    price_cents: BigInt | None = strawberry.UNSET
    currency: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 4217; the organization's.")
    compare_at_price_cents: BigInt | None = strawberry.UNSET
    sku: str | None = strawberry.UNSET
    barcode: str | None = strawberry.UNSET
    track_inventory: bool | None = strawberry.UNSET
    inventory_quantity: int | None = strawberry.UNSET
    allow_backorder: bool | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET
    category_id: UUID | None = strawberry.field(
        default=strawberry.UNSET, description="A category of the product's organization; null for none."
    )
    seo_title: str | None = strawberry.UNSET
    seo_description: str | None = strawberry.UNSET


@strawberry.input(description="`name` and `priceCents` are required.")
class CreateProductInput(ProductFieldsInput):
    organization_id: UUID
    status: ProductStatus | None = strawberry.field(default=strawberry.UNSET, description="Default: draft.")


@strawberry.input(description="Only the fields sent change.")
class UpdateProductInput(ProductFieldsInput):
    pass


@strawberry.input(description="What `bulkUpdateProducts` changes on every product; at least one field.")
class BulkProductChangesInput:
    status: ProductStatus | None = strawberry.UNSET
    price_cents: BigInt | None = strawberry.UNSET
    compare_at_price_cents: BigInt | None = strawberry.UNSET
    track_inventory: bool | None = strawberry.UNSET
    allow_backorder: bool | None = strawberry.UNSET


@strawberry.input(description="A variant's fields; on update only the fields sent change.")
class VariantInput:
    sku: str | None = strawberry.UNSET
    option_values: JSON | None = strawberry.field(
        default=strawberry.UNSET, description='e.g. {"size": "M", "color": "red"}; unique in the product.'
    )
    price_cents: BigInt | None = strawberry.field(default=strawberry.UNSET, description="Null: the product's price.")
    compare_at_price_cents: BigInt | None = strawberry.UNSET
    track_inventory: bool | None = strawberry.UNSET
    inventory_quantity: int | None = strawberry.UNSET
    allow_backorder: bool | None = strawberry.UNSET
    position: int | None = strawberry.UNSET
    is_default: bool | None = strawberry.field(default=strawberry.UNSET, description="true: the product's default.")


# --- root fields -------------------------------------------------------------------------------------


def _for_change(info: Info, product_id: UUID) -> tuple[Product, dict[str, Any]]:
    """The product (another tenant's: NOT_FOUND) and who acts; the service checks the role (FORBIDDEN)."""
    context = context_of(info)
    product = selectors.product_get_for_change(user=context.require_user(), product_id=product_id)
    context.member_access_require(product.organization)
    return product, {"actor": context.user, "permissions": context.permissions(product.organization)}


@strawberry.type
class CatalogQuery:
    @page_connection(
        DjangoCursorConnection[ProductType] | None,
        description="Products the caller may see (members: all of their organizations'; everyone: active ones), "
        "with REST's filters and full-text search.",
    )
    def products(
        self,
        info: Info,
        organization: Annotated[str | None, strawberry.argument(description="Organization id or slug.")] = None,
        status: ProductStatus | None = None,
        min_price: Annotated[BigInt | None, strawberry.argument(description="Cents, inclusive.")] = None,
        max_price: Annotated[BigInt | None, strawberry.argument(description="Cents, inclusive.")] = None,
        in_stock: bool | None = None,
        sku: str | None = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Full-text (websearch syntax), newest matches first; else names like it."),
        ] = None,
        category: Annotated[
            UUID | None, strawberry.argument(description="Its products and those of every category below it.")
        ] = None,
        ordering: ProductOrdering | None = None,
    ) -> QuerySet[Product]:
        context = context_of(info)
        arguments = {
            "organization": organization,
            "status": status,
            "min_price": min_price,
            "max_price": max_price,
            "in_stock": in_stock,
            "sku": sku,
            "search": search,
            "category": category,
        }
        filterset = ProductFilter(
            {name: provided(value) for name, value in arguments.items() if value is not None},
            queryset=selectors.visible_products(user=context.user, member_of=context.member_of),
        )
        if not filterset.is_valid():
            raise ValidationError(details=dict(filterset.errors))
        queryset = filterset.qs
        if ordering is not None or not (search or "").strip():
            queryset = queryset.order_by((ordering or ProductOrdering.NEWEST).value, "-id")
        return queryset

    @page_connection(
        DjangoCursorConnection[CategoryType] | None,
        description="An organization's category tree in depth-first order (anyone may read it).",
    )
    def categories(
        self,
        info: Info,
        organization: Annotated[str, strawberry.argument(description="Organization id or slug.")],
    ) -> QuerySet[Category]:
        found = selectors.resolve_organization(organization)
        if found is None:
            return selectors.visible_categories().none()
        return selectors.visible_categories(organization_id=found.pk).order_by("path", "id")

    @strawberry_django.field(description="A category; NOT_FOUND when it does not exist.")
    def category(self, info: Info, id: UUID) -> CategoryType | None:  # noqa: A002
        return get_one(selectors.visible_categories().filter(pk=id), info, message="Category not found.")

    @strawberry_django.field(description="A product the caller may see; NOT_FOUND otherwise.")
    def product(self, info: Info, id: UUID) -> ProductType | None:  # noqa: A002
        context = context_of(info)
        queryset = selectors.visible_products(user=context.user, member_of=context.member_of).filter(pk=id)
        return get_one(queryset, info, message="Product not found.")  # type: ignore[return-value]

    @strawberry_django.field(
        description="A product by its slug in an organization (id or slug) that the caller may see; NOT_FOUND "
        "otherwise."
    )
    def product_by_slug(self, info: Info, organization: str, slug: str) -> ProductType | None:
        context = context_of(info)
        queryset = selectors.visible_product_by_slug(
            user=context.user, member_of=context.member_of, organization=organization, slug=slug
        )
        return get_one(queryset, info, message="Product not found.")  # type: ignore[return-value]


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Create a product (add_products). Draft unless `status` says otherwise.")
    def create_product(self, info: Info, input: CreateProductInput) -> ProductType | None:  # noqa: A002
        context = context_of(info)
        raw = provided(input)
        raw["organization"] = raw.pop("organization_id")  # REST's field names
        if "category_id" in raw:
            raw["category"] = raw.pop("category_id")
        data = validated(ProductCreateSerializer, raw)
        organization = organization_get(user=context.require_user(), organization_id=data.pop("organization"))
        context.member_access_require(organization)
        return services.product_create(  # type: ignore[return-value]
            organization=organization,
            data=data,
            status=data.pop("status", None),
            actor=context.user,
            permissions=context.permissions(organization),
        )

    @strawberry.mutation(description="Change a product's fields (change_products).")
    def update_product(self, info: Info, id: UUID, input: UpdateProductInput) -> ProductType | None:  # noqa: A002
        product, caller = _for_change(info, id)
        raw = provided(input)
        if "category_id" in raw:  # REST's field name
            raw["category"] = raw.pop("category_id")
        data = validated(ProductWriteSerializer, raw, partial=True)
        return services.product_update(product=product, data=data, **caller)  # type: ignore[return-value]

    @strawberry.mutation(description="Make a product active: sellable and public (change_products).")
    def publish_product(self, info: Info, id: UUID) -> ProductType | None:  # noqa: A002
        product, caller = _for_change(info, id)
        return services.product_publish(product=product, **caller)  # type: ignore[return-value]

    @strawberry.mutation(description="Take a product off sale; members still see it (change_products).")
    def archive_product(self, info: Info, id: UUID) -> ProductType | None:  # noqa: A002
        product, caller = _for_change(info, id)
        return services.product_archive(product=product, **caller)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Add `delta` (may be negative) to the stock; INSUFFICIENT_STOCK below zero unless the "
        "product sells on backorder (change_products)."
    )
    def adjust_inventory(
        self,
        info: Info,
        id: UUID,  # noqa: A002
        delta: int,
        reason: str,
        variant_id: Annotated[
            UUID | None, strawberry.argument(description="Which variant; may be left out for a single-variant product.")
        ] = None,
    ) -> ProductType | None:
        product, caller = _for_change(info, id)
        raw = {"delta": delta, "reason": reason, **({"variant": variant_id} if variant_id else {})}
        data = validated(InventoryAdjustSerializer, raw)
        return services.product_adjust_inventory(product=product, **data, **caller)  # type: ignore[return-value]

    @strawberry.mutation(description="Add a variant to a product (change_products).")
    def create_variant(
        self,
        info: Info,
        product_id: UUID,
        input: VariantInput,  # noqa: A002
    ) -> ProductVariantType | None:
        product, caller = _for_change(info, product_id)
        data = validated(VariantWriteSerializer, input)
        return services.variant_create(product=product, data=data, **caller)  # type: ignore[return-value]

    @strawberry.mutation(description="Change a variant of a product (change_products).")
    def update_variant(
        self,
        info: Info,
        product_id: UUID,
        id: UUID,  # noqa: A002
        input: VariantInput,  # noqa: A002
    ) -> ProductVariantType | None:
        product, caller = _for_change(info, product_id)
        variant = selectors.variant_get(product=product, variant_id=id)
        data = validated(VariantWriteSerializer, input, partial=True)
        return services.variant_update(variant=variant, data=data, **caller)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Delete a variant (change_products); the product's last one: CONFLICT. Returns its id."
    )
    def delete_variant(self, info: Info, product_id: UUID, id: UUID) -> UUID | None:  # noqa: A002
        product, caller = _for_change(info, product_id)
        variant = selectors.variant_get(product=product, variant_id=id)
        services.variant_delete(variant=variant, **caller)
        return variant.pk

    @strawberry.mutation(
        description="Delete a product (delete_products; soft: orders keep their lines). Returns its id."
    )
    def delete_product(self, info: Info, id: UUID) -> UUID | None:  # noqa: A002
        product, caller = _for_change(info, id)
        services.product_delete(product=product, **caller)
        return product.pk

    @strawberry.mutation(
        description="Delete one of a product's images (change_products); its file is removed once this commits. "
        "Uploads are REST-only. Returns the product."
    )
    def delete_product_image(self, info: Info, product_id: UUID, image_id: UUID) -> ProductType | None:
        context = context_of(info)
        image = selectors.product_image_get_for_change(
            user=context.require_user(), product_id=product_id, image_id=image_id
        )
        context.member_access_require(image.product.organization)
        catalog_images.product_image_delete(
            image=image, actor=context.user, permissions=context.permissions(image.product.organization)
        )
        queryset = selectors.visible_products(user=context.user, member_of=context.member_of).filter(pk=product_id)
        return get_one(queryset, info, message="Product not found.")  # type: ignore[return-value]

    @strawberry.mutation(
        description="Change status, prices or inventory flags of up to 100 products at once, all or nothing "
        "(change_products in each product's organization; NOT_FOUND if any is not yours)."
    )
    def bulk_update_products(
        self, info: Info, ids: list[UUID], changes: BulkProductChangesInput
    ) -> list[ProductType] | None:
        context = context_of(info)
        data = validated(BulkUpdateSerializer, {"ids": ids, "changes": provided(changes)})
        organizations = selectors.product_organizations(user=context.require_user(), product_ids=data["ids"])
        for organization in organizations:
            context.member_access_require(organization)
        products = services.product_bulk_update(
            organization_ids=[o.pk for o in organizations],
            ids=data["ids"],
            changes=data["changes"],
            actor=context.user,
            permissions={o.pk: context.permissions(o) for o in organizations},
        )
        queryset = selectors.visible_products(user=context.user, member_of=context.member_of)
        ids_in_order = [p.pk for p in products]
        return get_list(queryset.filter(pk__in=ids_in_order), info, order=ids_in_order)  # type: ignore[return-value]
