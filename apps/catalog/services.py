"""Every write to the catalog. Each public service is one transaction that also
writes the audit entries and outbox events of the change, and invalidates the
organization's cached reads once it commits.

Stock primitives (:func:`stock_reserve`, :func:`stock_release`) run inside the
caller's transaction: orders reserve and return stock through them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.text import slugify

from apps.audit.services import record, record_and_publish
from apps.catalog._common import authorize as _authorize
from apps.catalog._common import invalidate_after_commit as _after_commit_invalidate
from apps.catalog._common import locked_product as _locked
from apps.catalog.errors import InsufficientStock
from apps.catalog.images import product_images_discard
from apps.catalog.models import Category, Product, ProductVariant
from apps.catalog.selectors import category_is_empty, product_count
from apps.core.events import publish_event
from apps.core.exceptions import Conflict, NotFound, ValidationError
from apps.core.services import model_update
from apps.entitlements import Limit
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.organizations.models import Organization

# Fields a client may set on create / change afterwards (never organization, ids, times, search vector;
# never images: uploads only, through apps.catalog.images).
PRODUCT_FIELDS = (
    "name",
    "slug",
    "description",
    "price_cents",
    "currency",
    "compare_at_price_cents",
    "barcode",
    "attributes",
    "seo_title",
    "seo_description",
)
# The single-variant shortcut: product writes may carry these; they go to the product's only variant.
VARIANT_SHORTCUT_FIELDS = ("sku", "track_inventory", "inventory_quantity", "allow_backorder")
EDITABLE_FIELDS = (*PRODUCT_FIELDS, *VARIANT_SHORTCUT_FIELDS)
VARIANT_FIELDS = (
    "sku",
    "option_values",
    "price_cents",
    "compare_at_price_cents",
    "track_inventory",
    "inventory_quantity",
    "allow_backorder",
    "position",
)
# What bulk-update may change: status and price on the products, inventory flags on all their variants.
BULK_PRODUCT_FIELDS = ("status", "price_cents", "compare_at_price_cents")
BULK_VARIANT_FIELDS = ("track_inventory", "allow_backorder")
BULK_FIELDS = (*BULK_PRODUCT_FIELDS, *BULK_VARIANT_FIELDS)
BULK_MAX = 100
AUDITED_FIELDS = (*PRODUCT_FIELDS, "category", "status", "published_at", "deleted_at")
VARIANT_AUDITED_FIELDS = (*VARIANT_FIELDS, "is_default")


class MultipleVariants(ValidationError):
    """A product-level stock or SKU write on a product with several variants: name the variant."""

    code = "MULTIPLE_VARIANTS"
    default_message = "This product has several variants: change the variant itself."


def _snapshot(product: Product) -> dict[str, Any]:
    return model_to_dict(product, fields=AUDITED_FIELDS)


def _unique_slug(organization: Organization, name: str, *, exclude: uuid.UUID | None = None) -> str:
    base = slugify(name)[:200] or "product"
    candidates = Product.objects.alive().filter(organization=organization, slug__startswith=base)
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude)
    taken = set(candidates.values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_unique(product: Product, sku: str = "", *, variant_pk: uuid.UUID | None = None) -> None:
    """Name the field when a slug or SKU is taken in the organization (400, not a bare constraint error)."""
    others = Product.objects.alive().filter(organization_id=product.organization_id).exclude(pk=product.pk)
    errors = {}
    if others.filter(slug=product.slug).exists():
        errors["slug"] = ["A product with this slug already exists in the organization."]
    if sku and _sku_taken(product.organization_id, sku, exclude=variant_pk):
        errors["sku"] = ["A product with this SKU already exists in the organization."]
    if errors:
        raise ValidationError(details=errors)


def _sku_taken(organization_id: uuid.UUID, sku: str, *, exclude: uuid.UUID | None = None) -> bool:
    variants = ProductVariant.objects.alive().filter(organization_id=organization_id, sku=sku)
    if exclude is not None:
        variants = variants.exclude(pk=exclude)
    return variants.exists()


def _save_new(product: Product, variant_data: Mapping[str, Any]) -> ProductVariant:
    """Save the product with its default variant (the single-variant fields of the write)."""
    _check_unique(product, variant_data.get("sku", ""))
    product.variant_skus = variant_data.get("sku", "")
    product.full_clean(exclude=["search_vector"])
    variant = ProductVariant(organization_id=product.organization_id, product=product, is_default=True, **variant_data)
    _variant_clean(variant)
    try:
        with transaction.atomic():
            product.save()
            variant.save()
    except IntegrityError as exc:  # a concurrent writer took the slug or SKU first
        raise Conflict("A product with this slug or SKU already exists.") from exc
    product._prefetched_objects_cache = {"variants": _known(product, [variant])}  # type: ignore[attr-defined]
    return variant


def _known(product: Product, variants: list[ProductVariant]) -> Any:
    """``product.variants.all()`` answering ``variants`` without a query (as a prefetch would)."""
    queryset = product.variants.all()
    queryset._result_cache = variants
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    return queryset


def _refresh_skus(product_id: uuid.UUID) -> None:
    """Copy the variants' SKUs onto the product, for its search vector (one UPDATE)."""
    skus = ProductVariant.objects.filter(product_id=product_id).exclude(sku="").order_by("position", "created_at", "id")
    Product.objects.filter(pk=product_id).update(
        variant_skus=" ".join(skus.values_list("sku", flat=True)), updated_at=timezone.now()
    )


def _variant_snapshot(variant: ProductVariant) -> dict[str, Any]:
    return {name: getattr(variant, name) for name in VARIANT_AUDITED_FIELDS}


def _single_variant(product: Product, data: Mapping[str, Any]) -> ProductVariant | None:
    """The variant a product-level write of SKU/stock fields goes to: its only one (locked), or None."""
    if not _has_variant_fields(data):
        return None
    variants = list(ProductVariant.objects.select_for_update().filter(product=product).order_by("pk"))
    if len(variants) != 1:
        raise MultipleVariants(
            details={
                name: ["This product has several variants: set it on a variant (products/{id}/variants/{vid}/)."]
                for name in VARIANT_SHORTCUT_FIELDS
                if name in data
            }
        )
    return variants[0]


def _has_variant_fields(data: Mapping[str, Any]) -> bool:
    return any(name in data for name in VARIANT_SHORTCUT_FIELDS)


def _event(product: Product, event_type: str, **payload: Any) -> None:
    publish_event(
        event_type=event_type,
        organization_id=product.organization_id,
        payload={"product_id": str(product.id), **payload},
    )


def product_create(
    *,
    organization: Organization,
    data: Mapping[str, Any],
    status: str | None = None,
    actor: Any = None,
    permissions: frozenset[str] | None = None,
) -> Product:
    """Create a product (``add_products``); slug from the name when not given, currency from the organization.

    The plan's ``products`` limit is checked under a lock on the organization,
    so concurrent creates cannot overshoot it (402 ``PLAN_LIMIT_REACHED``).
    """
    _authorize(actor, organization, "add_products", permissions)
    with transaction.atomic():
        organization = plan_limit_lock(organization=organization)
        plan_limit_check(
            organization=organization, limit=Limit.PRODUCTS, current=lambda: product_count(organization=organization)
        )
        fields = {k: v for k, v in data.items() if k in PRODUCT_FIELDS}
        variant_data = {k: v for k, v in data.items() if k in VARIANT_SHORTCUT_FIELDS}
        fields.setdefault("currency", (organization.settings or {}).get("currency", "USD"))
        if not fields.get("slug"):
            fields["slug"] = _unique_slug(organization, fields.get("name", ""))
        if data.get("category") is not None:
            fields["category"] = _category_in(organization.id, data["category"], "category")
        product = Product(organization=organization, **fields)
        if status == Product.Status.ACTIVE:
            product.status = status
            product.published_at = timezone.now()
        elif status:
            product.status = status
        variant = _save_new(product, variant_data)
        record(
            action="product.created",
            resource_type="product",
            resource_id=product.id,
            organization=organization,
            new_values={**_snapshot(product), "default_variant": _variant_snapshot(variant)},
        )
        _event(product, "product.created")
        _after_commit_invalidate(organization.id)
    return product


def product_update(
    *, product: Product, data: Mapping[str, Any], actor: Any = None, permissions: frozenset[str] | None = None
) -> Product:
    """Change editable fields (``change_products``); only what changed is saved and audited."""
    _authorize(actor, product.organization, "change_products", permissions)
    with transaction.atomic():
        product = _locked(product.pk)
        if "slug" in data and not data["slug"]:
            data = {
                **data,
                "slug": _unique_slug(product.organization, data.get("name", product.name), exclude=product.pk),
            }
        before = _snapshot(product)
        if "category" in data:  # an id (or None) of a category of the product's organization
            category = _category_in(product.organization_id, data["category"], "category")
            data = {**data, "category_id": category.pk if category else None}
        variant = _single_variant(product, data)
        if "slug" in data:
            _check_unique(Product(pk=product.pk, organization_id=product.organization_id, slug=data["slug"]))
        try:
            with transaction.atomic():
                changes = model_update(instance=product, fields=(*PRODUCT_FIELDS, "category_id"), data=data)
                if variant is not None:
                    _variant_write(variant, {k: v for k, v in data.items() if k in VARIANT_SHORTCUT_FIELDS})
        except IntegrityError as exc:
            raise Conflict("A product with this slug or SKU already exists.") from exc
        if changes:
            record(
                action="product.updated",
                resource_type="product",
                resource_id=product.id,
                organization=product.organization_id,
                old_values=before,
                new_values=_snapshot(product),
            )
            _event(product, "product.updated", fields=changes.fields)
            _after_commit_invalidate(product.organization_id)
    return product


def _variant_write(
    variant: ProductVariant, data: Mapping[str, Any], *, action: str = "product_variant.updated"
) -> bool:
    """Save the variant fields of ``data`` that change, audited, with an event and a cache drop; True if any."""
    sku = data.get("sku")
    if sku and sku != variant.sku and _sku_taken(variant.organization_id, sku, exclude=variant.pk):
        raise ValidationError(details={"sku": ["A product with this SKU already exists in the organization."]})
    if "option_values" in data:
        _check_options(variant, data["option_values"])
    before = _variant_snapshot(variant)
    for name, value in data.items():
        if name in VARIANT_FIELDS:
            setattr(variant, name, value)
    after = _variant_snapshot(variant)
    if after == before:
        return False
    _variant_clean(variant)
    variant.save()
    changed = sorted(name for name in after if after[name] != before[name])
    if "sku" in changed:
        _refresh_skus(variant.product_id)
    record_and_publish(
        action=action,
        resource_type="product_variant",
        resource_id=variant.id,
        organization=variant.organization_id,
        old_values={name: before[name] for name in changed},
        new_values={name: after[name] for name in changed},
        event_type="product_variant.updated",
        payload={"product_id": str(variant.product_id), "variant_id": str(variant.id), "fields": changed},
    )
    _after_commit_invalidate(variant.organization_id)
    return True


def _variant_clean(variant: ProductVariant) -> None:
    """Field checks, and the stock rule named on its field (the check constraint, as a 400)."""
    variant.full_clean(exclude=["product", "organization"], validate_unique=False, validate_constraints=False)
    if variant.track_inventory and not variant.allow_backorder and variant.inventory_quantity < 0:
        raise ValidationError(
            details={"inventory_quantity": ["Stock cannot be negative unless the variant sells on backorder."]}
        )


def _check_options(variant: ProductVariant, options: Any) -> None:
    """``option_values``: a JSON object of short non-empty strings, unique among the product's variants."""
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() and len(k) <= 50 and len(v) <= 100
        for k, v in options.items()
    ):
        raise ValidationError(
            details={"option_values": ['An object of option names to values, e.g. {"size": "M", "color": "red"}.']}
        )
    if len(options) > 10:
        raise ValidationError(details={"option_values": ["At most 10 options."]})
    others = ProductVariant.objects.filter(product_id=variant.product_id, option_values=options)
    if variant.pk is not None:
        others = others.exclude(pk=variant.pk)
    if others.exists():
        raise Conflict(
            "Another variant of this product has these option values.",
            details={"option_values": ["Taken by another variant of this product."]},
        )


def _set_status(product: Product, status: str) -> Product:
    with transaction.atomic():
        product = _locked(product.pk)
        if product.status == status:
            return product
        before = _snapshot(product)
        product.status = status
        fields = ["status", "updated_at"]
        if status == Product.Status.ACTIVE and product.published_at is None:
            product.published_at = timezone.now()
            fields.append("published_at")
        product.save(update_fields=fields)
        record(
            action=f"product.{status}",
            resource_type="product",
            resource_id=product.id,
            organization=product.organization_id,
            old_values=before,
            new_values=_snapshot(product),
        )
        _event(product, "product.status_changed", status=status)
        _after_commit_invalidate(product.organization_id)
    return product


def product_publish(*, product: Product, actor: Any = None, permissions: frozenset[str] | None = None) -> Product:
    """Make a product active (sellable and public; ``change_products``); ``published_at`` is set the first time."""
    _authorize(actor, product.organization, "change_products", permissions)
    return _set_status(product, Product.Status.ACTIVE)


def product_archive(*, product: Product, actor: Any = None, permissions: frozenset[str] | None = None) -> Product:
    """Take a product off sale (``change_products``); it stays readable by members."""
    _authorize(actor, product.organization, "change_products", permissions)
    return _set_status(product, Product.Status.ARCHIVED)


def product_delete(*, product: Product, actor: Any = None, permissions: frozenset[str] | None = None) -> None:
    """Soft delete (``delete_products``): the row stays for orders' history but vanishes from every read."""
    _authorize(actor, product.organization, "delete_products", permissions)
    with transaction.atomic():
        product = _locked(product.pk)
        product.deleted_at = timezone.now()
        product.save(update_fields=["deleted_at", "updated_at"])
        # Its variants go with it: their SKUs are free again.
        ProductVariant.objects.filter(product=product).update(deleted_at=product.deleted_at)
        product_images_discard(product=product)  # issue 16: rows now, stored files once this commits
        record(
            action="product.deleted",
            resource_type="product",
            resource_id=product.id,
            organization=product.organization_id,
            old_values={"deleted_at": None},
            new_values={"deleted_at": product.deleted_at},
        )
        _event(product, "product.deleted")
        _after_commit_invalidate(product.organization_id)


def _variant_of(product: Product, variant_id: uuid.UUID | str | None, *, lock: bool = False) -> ProductVariant:
    """The product's variant ``variant_id``; without one, its only variant (several: MULTIPLE_VARIANTS)."""
    variants = ProductVariant.objects.filter(product_id=product.pk)
    if lock:
        variants = variants.select_for_update()
    if variant_id is not None:
        try:
            variant = variants.filter(pk=variant_id).first()
        except (ValueError, DjangoValidationError):
            variant = None
        if variant is None:
            raise NotFound("Variant not found.")
        return variant
    found = list(variants[:2])
    if len(found) != 1:
        raise MultipleVariants(details={"variant": ["This product has several variants: name one."]})
    return found[0]


def product_adjust_inventory(
    *,
    product: Product,
    delta: int,
    reason: str,
    variant: uuid.UUID | str | None = None,
    actor: Any = None,
    permissions: frozenset[str] | None = None,
) -> Product:
    """Add ``delta`` (may be negative) to a variant's stock atomically; never below 0 unless it sells on backorder.

    ``variant``: which one; may be left out when the product has a single variant.
    Needs ``change_products``.
    """
    _authorize(actor, product.organization, "change_products", permissions)
    if delta == 0:
        raise ValidationError(details={"delta": ["Must not be zero."]})
    with transaction.atomic():
        product = _locked(product.pk)
        locked = _variant_of(product, variant, lock=True)
        new_quantity = locked.inventory_quantity + delta
        if new_quantity < 0 and not locked.allow_backorder:
            raise InsufficientStock(
                "Not enough stock for this adjustment.",
                details={"available": {str(locked.id): locked.inventory_quantity}},
            )
        old_quantity = locked.inventory_quantity
        locked.inventory_quantity = new_quantity
        locked.save(update_fields=["inventory_quantity", "updated_at"])
        record(
            action="product.inventory_adjusted",
            resource_type="product",
            resource_id=product.id,
            organization=product.organization_id,
            old_values={"inventory_quantity": old_quantity},
            new_values={"inventory_quantity": new_quantity, "reason": reason, "variant": str(locked.id)},
        )
        _event(
            product,
            "product.inventory_adjusted",
            variant_id=str(locked.id),
            delta=delta,
            quantity=new_quantity,
            reason=reason,
        )
        _after_commit_invalidate(product.organization_id)
    return product


# --- variants ----------------------------------------------------------------------------------------


def variant_create(
    *, product: Product, data: Mapping[str, Any], actor: Any = None, permissions: frozenset[str] | None = None
) -> ProductVariant:
    """Add a variant to a product (``change_products``): its own SKU (unique in the organization) and options
    (unique in the product); a price left out or null sells at the product's price."""
    _authorize(actor, product.organization, "change_products", permissions)
    with transaction.atomic():
        product = _locked(product.pk)
        fields = {k: v for k, v in data.items() if k in VARIANT_FIELDS}
        variant = ProductVariant(organization_id=product.organization_id, product=product, **fields)
        if variant.sku and _sku_taken(product.organization_id, variant.sku):
            raise ValidationError(details={"sku": ["A product with this SKU already exists in the organization."]})
        _check_options(variant, variant.option_values)
        variant.is_default = not ProductVariant.objects.filter(product=product).exists()
        _variant_clean(variant)
        try:
            with transaction.atomic():
                variant.save()
        except IntegrityError as exc:
            raise Conflict("A variant with this SKU or these options already exists.") from exc
        if variant.sku:
            _refresh_skus(product.pk)
        record_and_publish(
            action="product_variant.created",
            resource_type="product_variant",
            resource_id=variant.id,
            organization=product.organization_id,
            new_values=_variant_snapshot(variant),
            event_type="product_variant.created",
            payload={"product_id": str(product.id), "variant_id": str(variant.id)},
        )
        _after_commit_invalidate(product.organization_id)
    return variant


def variant_update(
    *,
    variant: ProductVariant,
    data: Mapping[str, Any],
    actor: Any = None,
    permissions: frozenset[str] | None = None,
) -> ProductVariant:
    """Change a variant's fields (``change_products``); ``is_default: true`` makes it the product's default."""
    _authorize(actor, variant.organization, "change_products", permissions)
    with transaction.atomic():
        _locked(variant.product_id)
        locked = ProductVariant.objects.select_for_update().get(pk=variant.pk)
        try:
            with transaction.atomic():
                _variant_write(locked, {k: v for k, v in data.items() if k in VARIANT_FIELDS})
                if data.get("is_default") and not locked.is_default:
                    ProductVariant.objects.filter(product_id=locked.product_id, is_default=True).update(
                        is_default=False
                    )
                    locked.is_default = True
                    locked.save(update_fields=["is_default", "updated_at"])
                    record(
                        action="product_variant.updated",
                        resource_type="product_variant",
                        resource_id=locked.id,
                        organization=locked.organization_id,
                        old_values={"is_default": False},
                        new_values={"is_default": True},
                    )
                    _after_commit_invalidate(locked.organization_id)
        except IntegrityError as exc:
            raise Conflict("A variant with this SKU or these options already exists.") from exc
    return locked


def variant_delete(*, variant: ProductVariant, actor: Any = None, permissions: frozenset[str] | None = None) -> None:
    """Delete a variant (``change_products``); a product keeps at least one (the last: 409 ``CONFLICT``).

    Order lines keep their snapshot (their link becomes null). Deleting the
    default makes the next variant (by position) the default.
    """
    _authorize(actor, variant.organization, "change_products", permissions)
    with transaction.atomic():
        _locked(variant.product_id)
        siblings = list(ProductVariant.objects.select_for_update().filter(product_id=variant.product_id))
        locked = next((v for v in siblings if v.pk == variant.pk), None)
        if locked is None:
            raise NotFound("Variant not found.")
        if len(siblings) == 1:
            raise Conflict("A product keeps at least one variant: delete the product instead.")
        snapshot = _variant_snapshot(locked)
        locked.delete()
        if locked.is_default:
            successor = min(
                (v for v in siblings if v.pk != variant.pk), key=lambda v: (v.position, v.created_at, str(v.pk))
            )
            ProductVariant.objects.filter(pk=successor.pk).update(is_default=True)
        if locked.sku:
            _refresh_skus(locked.product_id)
        record_and_publish(
            action="product_variant.deleted",
            resource_type="product_variant",
            resource_id=variant.pk,
            organization=variant.organization_id,
            old_values=snapshot,
            event_type="product_variant.deleted",
            payload={"product_id": str(variant.product_id), "variant_id": str(variant.pk)},
        )
        _after_commit_invalidate(variant.organization_id)


def product_bulk_update(
    *,
    organization_ids: Iterable[uuid.UUID],
    ids: list[uuid.UUID],
    changes: Mapping[str, Any],
    actor: Any = None,
    permissions: Mapping[uuid.UUID, frozenset[str]] | None = None,
) -> list[Product]:
    """Apply the same status/price/inventory-flag changes to up to 100 products: all or nothing.

    ``organization_ids`` are the caller's organizations that own the products;
    the caller needs ``change_products`` in each (403 otherwise; ``permissions``:
    what the door already read, by organization id). An id outside them (or
    unknown, or deleted) fails the whole batch as not found.
    """
    organization_ids = list(organization_ids)
    for organization_id in organization_ids:
        _authorize(actor, organization_id, "change_products", (permissions or {}).get(organization_id))
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown:
        raise ValidationError(details={"changes": [f"Cannot bulk-change: {', '.join(sorted(unknown))}."]})
    if not changes:
        raise ValidationError(details={"changes": ["Nothing to change."]})
    unique_ids = list(dict.fromkeys(ids))
    if not unique_ids or len(unique_ids) > BULK_MAX:
        raise ValidationError(details={"ids": [f"Give between 1 and {BULK_MAX} product ids."]})
    with transaction.atomic():
        products = list(
            Product.objects.alive()
            .select_for_update()
            .filter(pk__in=unique_ids, organization_id__in=list(organization_ids))
            .order_by("pk")
        )
        if len(products) != len(unique_ids):
            missing = sorted(str(i) for i in set(unique_ids) - {p.pk for p in products})
            raise NotFound("Some products were not found.", details={"ids": missing})
        field_changes = {k: v for k, v in changes.items() if k in BULK_PRODUCT_FIELDS and k != "status"}
        variant_changes = {k: v for k, v in changes.items() if k in BULK_VARIANT_FIELDS}
        if variant_changes:
            variants = ProductVariant.objects.select_for_update().filter(product__in=products).order_by("pk")
            for variant in variants:
                _variant_write(variant, variant_changes, action="product_variant.bulk_updated")
        for product in products:
            before = _snapshot(product)
            if "status" in changes and changes["status"] != product.status:
                product.status = changes["status"]
                if product.status == Product.Status.ACTIVE and product.published_at is None:
                    product.published_at = timezone.now()
            for name, value in field_changes.items():
                setattr(product, name, value)
            product.full_clean(exclude=["search_vector"])
            after = _snapshot(product)
            if after == before:
                continue
            product.save(update_fields=[*BULK_PRODUCT_FIELDS, "published_at", "updated_at"])
            record(
                action="product.bulk_updated",
                resource_type="product",
                resource_id=product.id,
                organization=product.organization_id,
                old_values=before,
                new_values=after,
            )
            _event(product, "product.updated", fields=sorted(changes))
        for organization_id in {p.organization_id for p in products}:
            _after_commit_invalidate(organization_id)
    return products


# --- stock primitives for orders --------------------------------------------------


def stock_reserve(*, quantities: Mapping[uuid.UUID, int]) -> None:
    """Take stock for every line or for none (caller's transaction): never oversells.

    ``quantities``: by variant id. One conditional UPDATE per variant, in primary-key
    order (so concurrent orders cannot deadlock): tracked variants without backorder
    must have enough stock.
    When any line is short, :class:`InsufficientStock` lists the available quantity
    of each short line and the caller's transaction rolls the other lines back.
    """
    with stock_reserved(quantities=quantities):
        pass


@contextlib.contextmanager
def stock_reserved(*, quantities: Mapping[uuid.UUID, int]) -> Iterator[None]:
    """:func:`stock_reserve`, with the lines checked when the block ends instead of at once.

    The updates are sent (and lock the rows, in primary-key order) on entry; in
    pipeline mode (``apps.core.db.pipeline``) the statements the block sends
    travel in the same round trip as the updates' results. The block's writes
    must belong to the same all-or-nothing change: a short line raises
    :class:`InsufficientStock` after them, and the caller's transaction rolls
    everything back. When the block raises, the lines are not checked.
    """
    if not connection.in_atomic_block:
        # Lines are taken one by one: only the caller's transaction makes it all or nothing.
        raise RuntimeError("stock_reserve must run inside the caller's transaction.")
    table = ProductVariant._meta.db_table
    sql = (
        # Untracked variants are matched (they never run short) but keep their quantity.
        f"UPDATE {table} SET inventory_quantity = CASE WHEN track_inventory "  # noqa: S608 - our table name
        "THEN inventory_quantity - %s ELSE inventory_quantity END "
        f"WHERE id = %s AND (NOT track_inventory OR allow_backorder OR inventory_quantity >= %s) "
        "RETURNING organization_id"
    )
    organization_ids: set[uuid.UUID] = set()
    short: list[uuid.UUID] = []
    with contextlib.ExitStack() as cursors:
        sent = []
        for pk in sorted(quantities):
            cursor = cursors.enter_context(connection.cursor())
            cursor.execute(sql, [quantities[pk], pk, quantities[pk]])
            sent.append((pk, cursor))
        yield
        for pk, cursor in sent:
            row = cursor.fetchone()
            if row is None:
                short.append(pk)
            else:
                organization_ids.add(row[0])
    if short:
        available = dict(ProductVariant.objects.filter(pk__in=short).values_list("pk", "inventory_quantity"))
        raise InsufficientStock(details={"available": {str(pk): available.get(pk, 0) for pk in short}})
    for organization_id in organization_ids:
        _after_commit_invalidate(organization_id)


def stock_release(*, quantities: Mapping[uuid.UUID, int]) -> None:
    """Return stock taken by :func:`stock_reserve` to the variants (caller's transaction; callers ensure once).

    One UPDATE per tracked variant, in primary-key order (as reservations lock them).
    """
    table = ProductVariant._meta.db_table
    sql = (
        f"UPDATE {table} SET inventory_quantity = inventory_quantity + %s "  # noqa: S608 - our table name
        "WHERE id = %s AND track_inventory RETURNING organization_id"
    )
    organization_ids = set()
    with connection.cursor() as cursor:
        for pk in sorted(quantities):
            cursor.execute(sql, [quantities[pk], pk])
            row = cursor.fetchone()
            if row is not None:
                organization_ids.add(row[0])
    for organization_id in organization_ids:
        _after_commit_invalidate(organization_id)


# --- categories --------------------------------------------------------------------------------------

CATEGORY_FIELDS = ("name", "slug", "description", "position")
# Treebeard computes a new node's path from its siblings': tree writes run one at a time
# (every organization's roots share one forest), under this transaction-scoped advisory lock.
_CATEGORY_TREE_LOCK = 0x0C47E6


def _tree_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CATEGORY_TREE_LOCK])


def _category_snapshot(category: Category) -> dict[str, Any]:
    return {name: getattr(category, name) for name in (*CATEGORY_FIELDS, "path")}


def _category_event(category: Category, event_type: str, action: str, **audit: Any) -> None:
    record_and_publish(
        event_type=event_type,
        action=action,
        payload={"category_id": str(category.id)},
        organization=category.organization_id,
        resource_type="category",
        resource_id=category.id,
        **audit,
    )
    _after_commit_invalidate(category.organization_id)


def _category_in(organization_id: uuid.UUID, category_id: uuid.UUID | str | None, field: str) -> Category | None:
    """The organization's category ``category_id`` (None for None); another organization's is a 400 naming ``field``."""
    if category_id is None:
        return None
    category = Category.objects.filter(organization_id=organization_id, pk=category_id).first()
    if category is None:
        raise ValidationError(details={field: ["No such category in the product's organization."]})
    return category


def _sibling_slug_check(category: Category, parent_path: str) -> None:
    siblings = Category.objects.filter(organization_id=category.organization_id, parent_path=parent_path)
    if category.pk is not None:
        siblings = siblings.exclude(pk=category.pk)
    if siblings.filter(slug=category.slug).exists():
        raise Conflict(
            "A category with this slug already exists at this place in the tree.",
            details={"slug": ["Taken by a sibling category."]},
        )


def category_create(
    *,
    organization: Organization,
    data: Mapping[str, Any],
    parent_id: uuid.UUID | str | None = None,
    actor: Any = None,
    permissions: frozenset[str] | None = None,
) -> Category:
    """Add a category to the organization's tree (``add_products``), under ``parent_id`` or as a root.

    Siblings are kept ordered by position then name; a slug is unique among
    siblings (409 ``CONFLICT``); the slug comes from the name when not given.
    """
    _authorize(actor, organization, "add_products", permissions)
    with transaction.atomic():
        _tree_lock()
        parent = _category_in(organization.id, parent_id, "parent")
        fields = {k: v for k, v in data.items() if k in CATEGORY_FIELDS}
        if not fields.get("slug"):
            fields["slug"] = slugify(fields.get("name", ""))[:120] or "category"
        category = Category(organization=organization, **fields)
        _sibling_slug_check(category, parent.path if parent else "")
        category.full_clean(exclude=["path", "depth", "numchild", "parent_path"])
        if parent is not None:
            category = Category.objects.add_child(parent, instance=category)
        else:
            category = Category.objects.add_root(instance=category)
        category = Category.objects.get(pk=category.pk)
        _category_event(category, "category.created", "category.created", new_values=_category_snapshot(category))
    return category


def _resort(category: Category) -> None:
    """Put the category back in its siblings' order after its position or name changed."""
    if category.parent_path:
        Category.objects.move(category, Category.objects.get(path=category.parent_path), "sorted-child")
        return
    other_root = Category.objects.get_root_nodes().exclude(pk=category.pk).first()
    if other_root is not None:
        Category.objects.move(category, other_root, "sorted-sibling")


def category_update(
    *, category: Category, data: Mapping[str, Any], actor: Any = None, permissions: frozenset[str] | None = None
) -> Category:
    """Change a category's name, slug, description or position (``change_products``)."""
    _authorize(actor, category.organization, "change_products", permissions)
    with transaction.atomic():
        _tree_lock()
        category = Category.objects.select_for_update().get(pk=category.pk)
        before = _category_snapshot(category)
        fields = {k: v for k, v in data.items() if k in CATEGORY_FIELDS}
        if "slug" in fields and not fields["slug"]:
            fields["slug"] = slugify(fields.get("name", category.name))[:120] or "category"
        if "slug" in fields:
            _sibling_slug_check(
                Category(pk=category.pk, organization_id=category.organization_id, slug=fields["slug"]),
                category.parent_path,
            )
        changes = model_update(instance=category, fields=CATEGORY_FIELDS, data=fields)
        if changes:
            if {"position", "name"} & set(changes.fields):
                _resort(category)
                category = Category.objects.get(pk=category.pk)
            _category_event(
                category,
                "category.updated",
                "category.updated",
                old_values=before,
                new_values=_category_snapshot(category),
            )
    return category


def category_move(
    *,
    category: Category,
    parent_id: uuid.UUID | str | None,
    actor: Any = None,
    permissions: frozenset[str] | None = None,
) -> Category:
    """Move a category (and everything under it) under ``parent_id``, or make it a root (``change_products``).

    Under itself or one of its descendants is a cycle: 409 ``CONFLICT``. The
    new parent must be in the same organization (400), and the slug must be
    free among the new siblings (409).
    """
    _authorize(actor, category.organization, "change_products", permissions)
    with transaction.atomic():
        _tree_lock()
        category = Category.objects.select_for_update().get(pk=category.pk)
        parent = _category_in(category.organization_id, parent_id, "parent")
        if parent is not None and parent.path.startswith(category.path):
            raise Conflict("A category cannot move under itself or one of its descendants.")
        new_parent_path = parent.path if parent else ""
        if new_parent_path == category.parent_path:
            return category
        before = _category_snapshot(category)
        _sibling_slug_check(category, new_parent_path)
        if parent is not None:
            Category.objects.move(category, parent, "sorted-child")
        else:
            root = Category.objects.get_root_nodes().exclude(pk=category.pk).first()
            Category.objects.move(category, root, "sorted-sibling")
        category = Category.objects.get(pk=category.pk)
        _category_event(
            category,
            "category.moved",
            "category.moved",
            old_values=before,
            new_values=_category_snapshot(category),
        )
    return category


def category_delete(*, category: Category, actor: Any = None, permissions: frozenset[str] | None = None) -> None:
    """Delete an empty category (``delete_products``): one with children or products is a 409 ``CONFLICT``."""
    _authorize(actor, category.organization, "delete_products", permissions)
    with transaction.atomic():
        _tree_lock()
        category = Category.objects.select_for_update().get(pk=category.pk)
        if not category_is_empty(category=category):
            raise Conflict(
                "Only an empty category can be deleted: move or delete its subcategories and products first."
            )
        snapshot = _category_snapshot(category)
        _category_event(category, "category.deleted", "category.deleted", old_values=snapshot)
        # Soft-deleted products that still point at it let go (SET NULL).
        category.delete()


# --- ratings (kept by the reviews app) ------------------------------------------------------------


def product_rating_apply(*, product_id: uuid.UUID, count_delta: int, sum_delta: int) -> None:
    """Add an approved rating to (or take one from) the product's count and sum: one atomic UPDATE.

    Runs in the caller's transaction (the review's change), so the figures and
    the reviews never disagree; the product's cached reads are dropped on commit.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("product_rating_apply must run inside the caller's transaction.")
    updated = Product.objects.filter(pk=product_id).update(
        rating_count=F("rating_count") + count_delta, rating_sum=F("rating_sum") + sum_delta
    )
    if updated:
        organization_id = Product.objects.filter(pk=product_id).values_list("organization_id", flat=True).get()
        _after_commit_invalidate(organization_id)
