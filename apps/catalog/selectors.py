"""Product reads shared by the API, admin and tasks, scoped to what the user may see.

Members see every non-deleted product of their organizations; everyone else
(anonymous too) sees only active, non-deleted products of any organization.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast

from apps.catalog.models import Category, Product, ProductImage, ProductVariant
from apps.core.exceptions import NotFound
from apps.organizations.models import Organization
from apps.organizations.policies import permission_require
from apps.organizations.selectors import scope_to_organization

# Below this trigram similarity a name is not considered a typo of the query.
TRIGRAM_THRESHOLD = 0.3


def member_organization_ids(*, user: Any) -> frozenset[uuid.UUID]:
    """Ids of the (non-deleted) organizations the user belongs to; one query."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    return frozenset(
        scope_to_organization(Organization.objects.all(), user=user, field="").values_list("id", flat=True)
    )


def visible_products(*, user: Any, member_of: frozenset[uuid.UUID] | None = None) -> QuerySet[Product]:
    member_of = member_organization_ids(user=user) if member_of is None else member_of
    visible = Q(status=Product.Status.ACTIVE)
    if member_of:
        visible |= Q(organization_id__in=member_of)
    # Products of a deleted organization vanish with it.
    return Product.objects.alive().filter(visible, organization__deleted_at__isnull=True)


def resolve_organization(value: str) -> Organization | None:
    """An organization by id or slug (non-deleted), or None."""
    lookup = Q(slug=value)
    with contextlib.suppress(ValueError):
        lookup |= Q(pk=uuid.UUID(str(value)))
    return Organization.objects.filter(lookup, deleted_at__isnull=True).first()


FULL_TEXT_ORDER = ("-created_at", "-id")  # an order the tenant's index holds
SIMILAR_NAMES_ORDER = ("-rank", "-created_at", "-id")


def apply_search(queryset: QuerySet[Product], search: str) -> QuerySet[Product]:
    """Full-text matches, newest first; when nothing matches in full text, names like the search (typos).

    Full text: websearch syntax over the name, the description and the variants' SKUs. The matches
    come newest first, so a page reads the tenant's newest-first index until it is full (or, for a
    rare word, the GIN index's few matches): its cost does not grow with the number of matches
    (docs/catalog.md). Only when nothing in ``queryset`` matches in full text (one more query,
    stopping at the first match) does the search fall back to trigram similarity on the name, most
    similar first. Apply it after every other filter: the fallback asks about what they leave.
    """
    query = SearchQuery(search, search_type="websearch", config="english")
    matches = queryset.filter(search_vector=query)
    if matches.exists():
        return matches.order_by(*FULL_TEXT_ORDER)
    # A fixed-precision decimal: cursor pages compare the similarity exactly (a float's text
    # form rounds, and equal values would repeat or skip rows across pages).
    similarity = Cast(TrigramSimilarity("name", search), DecimalField(max_digits=12, decimal_places=6))
    return queryset.annotate(rank=similarity).filter(name__trigram_similar=search).order_by(*SIMILAR_NAMES_ORDER)


def search_order(queryset: QuerySet[Product]) -> tuple[str, ...]:
    """The order :func:`apply_search` chose for ``queryset`` (for a paginator that orders again)."""
    return SIMILAR_NAMES_ORDER if "rank" in queryset.query.annotations else FULL_TEXT_ORDER


def product_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Product]:
    return visible_products(user=user)


def product_get(*, user: Any, product_id: uuid.UUID | str, member_of: frozenset[uuid.UUID] | None = None) -> Product:
    """A product the user may read, or NotFound (missing, deleted, foreign draft look the same)."""
    try:
        return visible_products(user=user, member_of=member_of).select_related("organization").get(pk=product_id)
    except (Product.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("Product not found.") from exc


def product_get_for_change(*, user: Any, product_id: uuid.UUID | str) -> Product:
    """A product of one of the user's organizations (for writes), or NotFound.

    Whether the user's role allows the change is the permission class's call (403).
    """
    try:
        return (
            scope_to_organization(Product.objects.alive(), user=user).select_related("organization").get(pk=product_id)
        )
    except (Product.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("Product not found.") from exc


def visible_product_by_slug(
    *, user: Any, organization: str, slug: str, member_of: frozenset[uuid.UUID] | None = None
) -> QuerySet[Product]:
    """The product with ``slug`` in ``organization`` (its id or slug) among those the user may read (0 or 1 row)."""
    owner = Q(organization__slug=organization)
    with contextlib.suppress(ValueError):
        owner |= Q(organization_id=uuid.UUID(str(organization)))
    return visible_products(user=user, member_of=member_of).filter(owner, slug=slug)


def product_organizations(*, user: Any, product_ids: list[uuid.UUID]) -> list[Organization]:
    """The user's organizations that own any of these products (for bulk permission checks)."""
    owned = scope_to_organization(Product.objects.alive(), user=user).filter(pk__in=product_ids)
    return list(Organization.objects.filter(pk__in=owned.values("organization_id")))


def product_count(*, organization: Organization) -> int:
    """Products the organization has (not deleted): what the ``products`` plan limit counts."""
    return Product.objects.alive().filter(organization=organization).count()


@dataclass(frozen=True)
class VariantForSale:
    """What an order needs of a variant and its product: the snapshot fields and whether it may be sold."""

    id: uuid.UUID
    product_id: uuid.UUID
    name: str
    slug: str
    sku: str
    option_values: dict[str, str]
    price_cents: int  # the variant's own price, else the product's
    currency: str
    attributes: dict[str, Any]
    status: str


# The last column: the row is the only variant of a product the order names by product id.
_FOR_SALE_SQL = (
    "SELECT * FROM (SELECT v.id, p.id, p.name, p.slug, v.sku, v.option_values::text, "
    "COALESCE(v.price_cents, p.price_cents), p.currency, p.attributes::text, p.status, "
    "v.product_id = ANY(%s) AND NOT EXISTS (SELECT 1 FROM catalog_productvariant s "
    "WHERE s.product_id = v.product_id AND s.id <> v.id) AS only_variant, v.id = ANY(%s) AS named "
    "FROM catalog_productvariant v JOIN catalog_product p ON p.id = v.product_id "
    "WHERE (v.id = ANY(%s) OR v.product_id = ANY(%s)) AND p.organization_id = %s AND p.deleted_at IS NULL) rows "
    "WHERE only_variant OR named"
)


def variants_for_sale(
    *, organization_id: uuid.UUID, variant_ids: list[uuid.UUID], product_ids: list[uuid.UUID] | None = None
) -> tuple[dict[uuid.UUID, VariantForSale], dict[uuid.UUID, VariantForSale]]:
    """The organization's variants (of products not deleted) among ``variant_ids``, whatever their status;
    and, by product id, the only variant of each product among ``product_ids`` that has exactly one.

    One plain read, with no lock: order placement validates lines with it
    before it reserves stock. A single statement whatever the number of ids,
    run as plain SQL because placement runs it for every order.
    """
    product_ids = list(product_ids or [])
    with connection.cursor() as cursor:
        cursor.execute(_FOR_SALE_SQL, [product_ids, list(variant_ids), list(variant_ids), product_ids, organization_id])
        rows = cursor.fetchall()
    by_variant: dict[uuid.UUID, VariantForSale] = {}
    by_product: dict[uuid.UUID, VariantForSale] = {}
    for vid, pid, name, slug, sku, options, price, currency, attributes, status, only_variant, named in rows:
        variant = VariantForSale(
            id=vid,
            product_id=pid,
            name=name,
            slug=slug,
            sku=sku,
            option_values=json.loads(options),
            price_cents=price,
            currency=currency,
            attributes=json.loads(attributes),
            status=status,
        )
        if named:
            by_variant[vid] = variant
        if only_variant:
            by_product[pid] = variant
    return by_variant, by_product


def product_variants(*, product: Product) -> QuerySet[ProductVariant]:
    """A product's variants in their order (position, then age)."""
    return ProductVariant.objects.filter(product_id=product.pk).order_by("position", "created_at", "id")


def variant_get(*, product: Product, variant_id: uuid.UUID | str) -> ProductVariant:
    """The product's variant ``variant_id`` (the product already scoped to the caller), or NotFound."""
    try:
        variant = (
            ProductVariant.objects.select_related("organization", "product")
            .filter(product_id=product.pk)
            .get(pk=variant_id)
        )
    except (ProductVariant.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound("Variant not found.") from exc
    return variant


def products_existing_in(organization_id: uuid.UUID, product_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``product_ids`` are live products of the organization, in one query (to tell "name a variant"
    from "no such product")."""
    if not product_ids:
        return set()
    return set(
        Product.objects.alive().filter(organization_id=organization_id, pk__in=product_ids).values_list("pk", flat=True)
    )


# --- categories ------------------------------------------------------------------------------------


def category_parent_id() -> Subquery:
    """The parent's id of each category row (null for a root), as an annotation: a lookup on the parent's path."""
    return Subquery(Category.objects.filter(path=OuterRef("parent_path")).values("id")[:1])


def visible_categories(*, organization_id: uuid.UUID | None = None) -> QuerySet[Category]:
    """Categories anyone may read (the tree is public, like active products), in tree order (depth first).

    Each row carries ``parent_id`` (one correlated lookup on the parent's path, no extra query).
    """
    queryset = (
        Category.objects.filter(organization__deleted_at__isnull=True)
        .annotate(parent_id=category_parent_id())
        .order_by("path")
    )
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    return queryset


def category_get(*, category_id: uuid.UUID | str) -> Category:
    """A category of a live organization, or NotFound."""
    try:
        return visible_categories().select_related("organization").get(pk=category_id)
    except (Category.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound("Category not found.") from exc


def category_get_for_change(*, user: Any, category_id: uuid.UUID | str) -> Category:
    """A category of one of the user's organizations (for writes), or NotFound; the role is the service's call."""
    try:
        return (
            scope_to_organization(Category.objects.all(), user=user).select_related("organization").get(pk=category_id)
        )
    except (Category.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound("Category not found.") from exc


def products_in_category(queryset: QuerySet[Product], category_id: uuid.UUID | str) -> QuerySet[Product]:
    """Products of the category or any category below it: one prefix match on the path, in the list's own query."""
    path = Category.objects.filter(pk=category_id).values("path")[:1]
    return queryset.filter(category__path__startswith=Subquery(path))


def category_is_empty(*, category: Category) -> bool:
    """No child category and no (non-deleted) product: what a delete requires."""
    has_children = Category.objects.filter(parent_path=category.path).exists()
    return not has_children and not Product.objects.alive().filter(category=category).exists()


# --- product images (issue 16) ------------------------------------------------------------------------


def product_images(*, product: Product) -> QuerySet[ProductImage]:
    """A product's images in order (one query)."""
    return ProductImage.objects.filter(product=product).order_by("position", "created_at", "id")


def product_images_for_member(
    *, product: Product, actor: Any, permissions: frozenset[str] | None = None
) -> QuerySet[ProductImage]:
    """The images with their file facts: members of the product's organization (``view_products``)."""
    permission_require(user=actor, organization=product.organization, perm="view_products", permissions=permissions)
    return product_images(product=product)


def product_image_get_for_change(*, user: Any, product_id: uuid.UUID | str, image_id: uuid.UUID | str) -> ProductImage:
    """An image of a product of one of the user's organizations, or NotFound; the role is the service's call."""
    product = product_get_for_change(user=user, product_id=product_id)
    image = ProductImage.objects.filter(product=product, pk=image_id).first()
    if image is None:
        raise NotFound("Image not found.")
    image.product = product  # with its organization: the permission check reads no more
    return image
