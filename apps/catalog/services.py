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

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.text import slugify

from apps.audit.services import record, record_and_publish
from apps.catalog import cache as catalog_cache
from apps.catalog.errors import InsufficientStock
from apps.catalog.images import product_images_discard
from apps.catalog.models import Category, Product
from apps.catalog.selectors import category_is_empty, product_count
from apps.core.events import publish_event
from apps.core.exceptions import Conflict, NotFound, ValidationError
from apps.core.services import model_update
from apps.entitlements import Limit
from apps.entitlements import limit_check as plan_limit_check
from apps.entitlements import limit_lock as plan_limit_lock
from apps.organizations.models import Organization
from apps.organizations.policies import permission_require

# Fields a client may set on create / change afterwards (never organization, ids, times, search vector;
# never images: uploads only, through apps.catalog.images).
EDITABLE_FIELDS = (
    "name",
    "slug",
    "description",
    "price_cents",
    "currency",
    "compare_at_price_cents",
    "sku",
    "barcode",
    "track_inventory",
    "inventory_quantity",
    "allow_backorder",
    "attributes",
    "seo_title",
    "seo_description",
)
# What bulk-update may change: status, price and inventory flags.
BULK_FIELDS = ("status", "price_cents", "compare_at_price_cents", "track_inventory", "allow_backorder")
BULK_MAX = 100
AUDITED_FIELDS = (*EDITABLE_FIELDS, "category", "status", "published_at", "deleted_at")


def _snapshot(product: Product) -> dict[str, Any]:
    return model_to_dict(product, fields=AUDITED_FIELDS)


def _after_commit_invalidate(organization_id: uuid.UUID) -> None:
    transaction.on_commit(lambda: catalog_cache.bump_after_commit(organization_id))


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


def _check_unique(product: Product) -> None:
    """Name the field when a slug or SKU is taken in the organization (400, not a bare constraint error)."""
    others = Product.objects.alive().filter(organization_id=product.organization_id).exclude(pk=product.pk)
    errors = {}
    if others.filter(slug=product.slug).exists():
        errors["slug"] = ["A product with this slug already exists in the organization."]
    if product.sku and others.filter(sku=product.sku).exists():
        errors["sku"] = ["A product with this SKU already exists in the organization."]
    if errors:
        raise ValidationError(details=errors)


def _save_new(product: Product) -> None:
    _check_unique(product)
    product.full_clean(exclude=["search_vector"])
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # a concurrent writer took the slug or SKU first
        raise Conflict("A product with this slug or SKU already exists.") from exc


def _event(product: Product, event_type: str, **payload: Any) -> None:
    publish_event(
        event_type=event_type,
        organization_id=product.organization_id,
        payload={"product_id": str(product.id), **payload},
    )


def _authorize(
    actor: Any, organization: Organization | uuid.UUID, perm: str, permissions: frozenset[str] | None
) -> None:
    """The acting user needs ``perm`` on the organization (every door); ``actor=None`` is the platform itself."""
    if actor is None:
        return
    if permissions is None and not isinstance(organization, Organization):
        organization = Organization.objects.get(pk=organization)
    permission_require(user=actor, organization=organization, perm=perm, permissions=permissions)  # type: ignore[arg-type]


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
        fields = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
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
        _save_new(product)
        record(
            action="product.created",
            resource_type="product",
            resource_id=product.id,
            organization=organization,
            new_values=_snapshot(product),
        )
        _event(product, "product.created")
        _after_commit_invalidate(organization.id)
    return product


def _locked(product_id: uuid.UUID | str) -> Product:
    product = Product.objects.alive().select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound("Product not found.")
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
        if {"slug", "sku"} & set(data):
            candidate = Product(
                pk=product.pk,
                organization_id=product.organization_id,
                slug=data.get("slug", product.slug),
                sku=data.get("sku", product.sku),
            )
            _check_unique(candidate)
        try:
            with transaction.atomic():
                changes = model_update(instance=product, fields=(*EDITABLE_FIELDS, "category_id"), data=data)
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


def product_adjust_inventory(
    *, product: Product, delta: int, reason: str, actor: Any = None, permissions: frozenset[str] | None = None
) -> Product:
    """Add ``delta`` (may be negative) to stock atomically; never below 0 unless backorder is allowed.

    Needs ``change_products``.
    """
    _authorize(actor, product.organization, "change_products", permissions)
    if delta == 0:
        raise ValidationError(details={"delta": ["Must not be zero."]})
    with transaction.atomic():
        product = _locked(product.pk)
        new_quantity = product.inventory_quantity + delta
        if new_quantity < 0 and not product.allow_backorder:
            raise InsufficientStock(
                "Not enough stock for this adjustment.",
                details={"available": {str(product.id): product.inventory_quantity}},
            )
        old_quantity = product.inventory_quantity
        product.inventory_quantity = new_quantity
        product.save(update_fields=["inventory_quantity", "updated_at"])
        record(
            action="product.inventory_adjusted",
            resource_type="product",
            resource_id=product.id,
            organization=product.organization_id,
            old_values={"inventory_quantity": old_quantity},
            new_values={"inventory_quantity": new_quantity, "reason": reason},
        )
        _event(product, "product.inventory_adjusted", delta=delta, quantity=new_quantity, reason=reason)
        _after_commit_invalidate(product.organization_id)
    return product


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
        field_changes = {k: v for k, v in changes.items() if k != "status"}
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
            product.save(update_fields=[*BULK_FIELDS, "published_at", "updated_at"])
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

    One conditional UPDATE per product, in primary-key order (so concurrent orders
    cannot deadlock): tracked products without backorder must have enough stock.
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
    table = Product._meta.db_table
    sql = (
        # Untracked products are matched (they never run short) but keep their quantity.
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
        available = dict(Product.objects.filter(pk__in=short).values_list("pk", "inventory_quantity"))
        raise InsufficientStock(details={"available": {str(pk): available.get(pk, 0) for pk in short}})
    for organization_id in organization_ids:
        _after_commit_invalidate(organization_id)


def stock_release(*, quantities: Mapping[uuid.UUID, int]) -> None:
    """Return stock taken by :func:`stock_reserve` (caller's transaction; callers ensure once)."""
    tracked = Product.objects.filter(pk__in=list(quantities), track_inventory=True).order_by("pk")
    organization_ids = set()
    for product in tracked.select_for_update():
        Product.objects.filter(pk=product.pk).update(
            inventory_quantity=F("inventory_quantity") + quantities[product.pk]
        )
        organization_ids.add(product.organization_id)
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
