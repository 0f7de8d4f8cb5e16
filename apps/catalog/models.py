from decimal import ROUND_HALF_UP, Decimal

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Length, Substr
from treebeard.mp_tree import MP_Node, MP_NodeManager

from apps.core.models import BaseModel

MAX_IMAGES = 10
STEPLEN = 4  # characters of a category path per level (treebeard's default)


class CategoryManager(MP_NodeManager, models.Manager["Category"]):
    """treebeard's tree operations (``add_root``, ``add_child``, ``move``) on a manager django-stubs can type."""


class Category(MP_Node, BaseModel):
    """A node of an organization's category tree (treebeard materialized path).

    Every organization's roots are roots of one forest: a node's ``path`` starts
    with its ancestors' paths, so "this category and everything under it" is one
    prefix match, whatever the depth. Writes go through the services, which
    serialize tree changes (treebeard computes new paths from its siblings').
    """

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    position = models.IntegerField(default=0, help_text="Order among siblings (lowest first), then the name.")
    # The parent's path ("" for a root), kept by PostgreSQL through every move: slugs are unique among siblings.
    parent_path = models.GeneratedField(
        expression=Substr("path", 1, Length("path") - STEPLEN),
        output_field=models.CharField(max_length=255),
        db_persist=True,
    )

    steplen = STEPLEN
    node_order_by = ["position", "name"]

    objects = CategoryManager()

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "parent_path", "slug"], name="catalog_category_slug_unique_among_siblings"
            ),
        ]

    def __str__(self) -> str:
        return self.name


def rating_average(rating_sum: int, rating_count: int) -> float | None:
    """The mean of the approved ratings, to two decimals rounded half up (as SQL's ``round`` of a numeric,
    which the product list uses); None without any."""
    if not rating_count:
        return None
    return float((Decimal(rating_sum) / Decimal(rating_count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class ProductQuerySet(models.QuerySet["Product"]):
    def alive(self) -> "ProductQuerySet":
        return self.filter(deleted_at__isnull=True)

    def public(self) -> "ProductQuerySet":
        return self.alive().filter(status=Product.Status.ACTIVE)


class Product(BaseModel):
    """A sellable item of one organization. Soft-deleted rows vanish from every read."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    description = models.TextField(blank=True)
    price_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    compare_at_price_cents = models.BigIntegerField(null=True, blank=True)
    barcode = models.CharField(max_length=64, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Read-only: the product's images in order, [{id, url, width, height, alt, position}], kept by
    # apps.catalog.images in the same transaction as the ProductImage rows (reads never join them).
    images = models.JSONField(default=list, blank=True, editable=False)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    # Approved reviews only, kept by the reviews services in the same transaction as the review.
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    seo_title = models.CharField(max_length=200, blank=True)
    seo_description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The variants' SKUs, space-separated, for the search vector: kept by the services
    # (``services._refresh_skus``) whenever a variant's SKU changes, comes or goes.
    variant_skus = models.TextField(blank=True, default="", editable=False)
    # Kept by PostgreSQL itself: name weighs most, then description, then the SKUs.
    search_vector = models.GeneratedField(
        expression=(
            SearchVector("name", weight="A", config="english")
            + SearchVector("description", weight="B", config="english")
            + SearchVector("variant_skus", weight="C", config="simple")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_cents__gte=0), name="catalog_product_price_gte_0"),
            models.CheckConstraint(
                condition=models.Q(compare_at_price_cents__isnull=True) | models.Q(compare_at_price_cents__gte=0),
                name="catalog_product_compare_at_gte_0",
            ),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="catalog_product_currency"),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "active", "archived"]), name="catalog_product_status_valid"
            ),
            models.UniqueConstraint(
                fields=["organization", "slug"],
                condition=models.Q(deleted_at__isnull=True),
                name="catalog_product_slug_unique_alive",
            ),
        ]
        indexes = [
            # Search: tenant-leading GIN indexes (btree_gin's uuid_ops for the organization), so a
            # search within one organization reads only that organization's entries; without an
            # organization (the public list) the same indexes answer on their second column alone.
            GinIndex(
                fields=["organization", "search_vector"],
                opclasses=["uuid_ops", "tsvector_ops"],
                name="product_org_search_idx",
            ),
            GinIndex(
                fields=["organization", "name"],
                opclasses=["uuid_ops", "gin_trgm_ops"],
                name="product_org_name_trgm_idx",
            ),
            # A tenant's newest first (its list, and its search: the matches come in this order, so a
            # page reads the index until it is full, however many products match).
            models.Index(
                fields=["organization", "created_at", "id"],
                condition=models.Q(deleted_at__isnull=True),
                name="product_org_created_idx",
            ),
            # Tenant lists filtered or ordered by price.
            models.Index(
                fields=["organization", "price_cents"],
                condition=models.Q(deleted_at__isnull=True),
                name="product_org_price_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rating_average(self) -> float | None:
        return rating_average(self.rating_sum, self.rating_count)

    # --- the variants, for single-variant convenience --------------------------------
    # Read from ``variants`` (prefetched by the lists, else fetched once and kept like a prefetch
    # until ``refresh_from_db``); writes go through ``services.variant_*`` or the product
    # services' single-variant shortcuts.

    @property
    def variant_list(self) -> list["ProductVariant"]:
        if "variants" not in getattr(self, "_prefetched_objects_cache", {}):
            models.prefetch_related_objects([self], "variants")
        return list(self.variants.all())

    @property
    def default_variant(self) -> "ProductVariant | None":
        variants = self.variant_list
        return next((v for v in variants if v.is_default), variants[0] if variants else None)

    @property
    def sku(self) -> str:
        variant = self.default_variant
        return variant.sku if variant else ""

    @property
    def track_inventory(self) -> bool:
        return any(v.track_inventory for v in self.variant_list)

    @property
    def allow_backorder(self) -> bool:
        return any(v.allow_backorder for v in self.variant_list)

    @property
    def inventory_quantity(self) -> int:
        """Stock of all tracked variants together."""
        return sum(v.inventory_quantity for v in self.variant_list if v.track_inventory)

    @property
    def in_stock(self) -> bool:
        """Any variant can be sold."""
        return any(v.in_stock for v in self.variant_list)


class ProductVariantQuerySet(models.QuerySet["ProductVariant"]):
    def alive(self) -> "ProductVariantQuerySet":
        return self.filter(deleted_at__isnull=True)


class ProductVariant(BaseModel):
    """One sellable version of a product (a size, a colour): its own SKU, stock and optional prices.

    Every product has at least one variant and exactly one default. Orders,
    reservations and stock adjustments work on variants; a variant's price is
    its own ``price_cents`` or, when null, the product's.
    """

    # Denormalized from the product: SKUs are unique per organization, and tenant filters need no join.
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="product_variants"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, blank=True)
    option_values = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "M", "color": "red"}')
    price_cents = models.BigIntegerField(null=True, blank=True, help_text="Null: the product's price.")
    compare_at_price_cents = models.BigIntegerField(null=True, blank=True, help_text="Null: the product's.")
    track_inventory = models.BooleanField(default=True)
    inventory_quantity = models.IntegerField(default=0)
    allow_backorder = models.BooleanField(default=False)
    position = models.IntegerField(default=0)
    is_default = models.BooleanField(default=False)
    # The product's soft delete, mirrored (``services.product_delete``): its SKUs are free again.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ProductVariantQuerySet.as_manager()

    class Meta:
        ordering = ["product", "position", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_cents__isnull=True) | models.Q(price_cents__gte=0),
                name="catalog_variant_price_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(compare_at_price_cents__isnull=True) | models.Q(compare_at_price_cents__gte=0),
                name="catalog_variant_compare_at_gte_0",
            ),
            # Stock never goes negative unless the variant sells on backorder.
            models.CheckConstraint(
                condition=models.Q(inventory_quantity__gte=0)
                | models.Q(allow_backorder=True)
                | models.Q(track_inventory=False),
                name="catalog_variant_stock_gte_0",
            ),
            models.UniqueConstraint(
                fields=["product"], condition=models.Q(is_default=True), name="catalog_variant_one_default"
            ),
            models.UniqueConstraint(fields=["product", "option_values"], name="catalog_variant_options_unique"),
            models.UniqueConstraint(
                fields=["organization", "sku"],
                condition=~models.Q(sku="") & models.Q(deleted_at__isnull=True),
                name="catalog_variant_sku_unique_alive",
            ),
        ]

    def __str__(self) -> str:
        options = ", ".join(f"{k}: {v}" for k, v in sorted((self.option_values or {}).items()))
        return self.sku or options or "default"

    @property
    def in_stock(self) -> bool:
        return not self.track_inventory or self.allow_backorder or self.inventory_quantity > 0

    def effective_price_cents(self, product: Product | None = None) -> int:
        if self.price_cents is not None:
            return self.price_cents
        return (product or self.product).price_cents


# --- product images (issue 16) ----------------------------------------------------------------------

# What an uploaded image may be, by the format Pillow reads from its bytes (never its name or declared type).
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
_EXTENSIONS = dict(IMAGE_FORMATS.values())


def product_image_path(instance: "ProductImage", filename: str) -> str:
    """``products/<organization>/<product>/<image id>.<extension of the detected format>``: no client-chosen name."""
    extension = _EXTENSIONS.get(instance.content_type, "bin")
    return f"products/{instance.organization_id}/{instance.product_id}/{instance.id}.{extension}"


class ProductImage(BaseModel):
    """One image of a product: an uploaded file in the default storage, or (images given as URLs before uploads
    existed, kept by migration 0007) an external URL and no file.

    Written only by ``apps.catalog.images``, which keeps the product's ``images`` list (what every read shows)
    equal to these rows in the same transaction.
    """

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="product_images"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="image_set")
    file = models.FileField(upload_to=product_image_path, max_length=255, blank=True)
    external_url = models.URLField(max_length=500, blank=True, help_text="An image given as a URL (no file).")
    position = models.PositiveSmallIntegerField(default=0, help_text="0 first; positions are 0..n-1.")
    alt = models.CharField(max_length=200, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=32, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["product", "position", "created_at"]
        indexes = [models.Index(fields=["product", "position"], name="product_image_position_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(file="") | ~models.Q(external_url=""), name="catalog_product_image_has_source"
            ),
        ]

    def __str__(self) -> str:
        return self.file.name or self.external_url

    @property
    def url(self) -> str:
        """Where the image is read: the storage's URL of its file, or its external URL."""
        return self.file.url if self.file else self.external_url
