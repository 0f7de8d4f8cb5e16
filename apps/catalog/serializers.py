import re

from django.db.models import TextField
from django.db.models.expressions import RawSQL
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from apps.catalog.models import MAX_IMAGES, Product, ProductImage, ProductVariant
from apps.catalog.services import BULK_FIELDS, BULK_MAX

# Seen only by members of the product's organization.
MEMBER_ONLY_FIELDS = ("barcode", "track_inventory", "inventory_quantity", "allow_backorder")


# The variant's fields seen by members only.
VARIANT_MEMBER_ONLY_FIELDS = ("track_inventory", "inventory_quantity", "allow_backorder")


class VariantOutputSerializer(serializers.ModelSerializer):
    """A variant: its own SKU, options, price override and (members only) stock."""

    product = serializers.UUIDField(source="product_id", read_only=True)
    effective_price_cents = serializers.SerializerMethodField(
        help_text="What it sells for: its own price, else the product's."
    )
    in_stock = serializers.BooleanField(read_only=True)
    track_inventory = serializers.BooleanField(required=False, help_text="Members of the organization only.")
    inventory_quantity = serializers.IntegerField(required=False, help_text="Members of the organization only.")
    allow_backorder = serializers.BooleanField(required=False, help_text="Members of the organization only.")

    class Meta:
        model = ProductVariant
        fields = (
            "id",
            "product",
            "sku",
            "option_values",
            "price_cents",
            "compare_at_price_cents",
            "effective_price_cents",
            "track_inventory",
            "inventory_quantity",
            "allow_backorder",
            "in_stock",
            "position",
            "is_default",
        )
        read_only_fields = tuple(name for name in fields if name not in VARIANT_MEMBER_ONLY_FIELDS)

    def get_effective_price_cents(self, variant) -> int:
        base = self.context.get("product_price_cents")
        return (
            variant.price_cents
            if variant.price_cents is not None
            else (base if base is not None else variant.product.price_cents)
        )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.organization_id not in self.context.get("member_of", frozenset()):
            for name in VARIANT_MEMBER_ONLY_FIELDS:
                data.pop(name, None)
        return data


class VariantWriteSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True)
    option_values = serializers.DictField(
        child=serializers.CharField(max_length=100), required=False, help_text='e.g. {"size": "M", "color": "red"}'
    )
    price_cents = serializers.IntegerField(
        min_value=0, max_value=10**12, required=False, allow_null=True, help_text="Null: the product's price."
    )
    compare_at_price_cents = serializers.IntegerField(min_value=0, max_value=10**12, required=False, allow_null=True)
    track_inventory = serializers.BooleanField(required=False)
    inventory_quantity = serializers.IntegerField(required=False, min_value=-(10**9), max_value=10**9)
    allow_backorder = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False, min_value=-(10**6), max_value=10**6)
    is_default = serializers.BooleanField(required=False, help_text="true: make it the product's default.")


class ProductImageEntrySerializer(serializers.Serializer):
    """One of a product's images as every product read shows it (the product's ``images`` list)."""

    id = serializers.UUIDField(help_text="The image; `products/{id}/images/{image_id}/` changes or deletes it.")
    url = serializers.CharField(
        help_text="Where to fetch it: the storage's URL (`/media/...` on the local filesystem, relative to the "
        "API's host; the bucket's or its custom domain's with S3), or an image URL given before uploads existed."
    )
    width = serializers.IntegerField(allow_null=True, help_text="Pixels; null for an image given as a URL.")
    height = serializers.IntegerField(allow_null=True, help_text="Pixels; null for an image given as a URL.")
    alt = serializers.CharField(allow_blank=True)
    position = serializers.IntegerField(help_text="0 first.")


class ProductOutputSerializer(serializers.ModelSerializer):
    """A product as the reader may see it: stock figures only for members of its organization."""

    images = ProductImageEntrySerializer(
        many=True,
        read_only=True,
        help_text=f"In order, at most {MAX_IMAGES}; written by uploads only (`POST products/{{id}}/images/`).",
    )

    organization = serializers.UUIDField(source="organization_id", read_only=True)
    category = serializers.UUIDField(source="category_id", read_only=True, allow_null=True)
    sku = serializers.CharField(read_only=True, help_text="The default variant's SKU.")
    in_stock = serializers.BooleanField(read_only=True, help_text="Any variant can be sold.")
    rating_average = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Mean of the approved reviews' ratings (2 decimals); null: none."
    )
    rating_count = serializers.IntegerField(read_only=True, help_text="Approved reviews.")
    # Output only; not read_only so that the schema does not list them as always present.
    barcode = serializers.CharField(required=False, help_text="Members of the organization only.")
    track_inventory = serializers.BooleanField(required=False, help_text="Members of the organization only.")
    inventory_quantity = serializers.IntegerField(
        required=False, help_text="Members of the organization only. All tracked variants' stock together."
    )
    allow_backorder = serializers.BooleanField(
        required=False, help_text="Members of the organization only. Whether any variant sells on backorder."
    )
    variants = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = (
            "id",
            "organization",
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
            "in_stock",
            "attributes",
            "images",
            "category",
            "rating_average",
            "rating_count",
            "seo_title",
            "seo_description",
            "status",
            "published_at",
            "created_at",
            "updated_at",
            "variants",
        )
        read_only_fields = tuple(name for name in fields if name not in MEMBER_ONLY_FIELDS)

    @extend_schema_field(VariantOutputSerializer(many=True))
    def get_variants(self, product):
        context = {**self.context, "product_price_cents": product.price_cents}
        return VariantOutputSerializer(product.variant_list, many=True, context=context).data

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.organization_id not in self.context.get("member_of", frozenset()):
            for name in MEMBER_ONLY_FIELDS:
                data.pop(name, None)
        return data


class ProductWriteSerializer(serializers.Serializer):
    """Fields a member may write; validation names the field at fault."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=220, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    price_cents = serializers.IntegerField(min_value=0, max_value=10**12)
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, error_messages={"invalid": "Use a 3-letter ISO 4217 code, e.g. USD."}
    )
    compare_at_price_cents = serializers.IntegerField(min_value=0, max_value=10**12, required=False, allow_null=True)
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True)
    barcode = serializers.CharField(max_length=64, required=False, allow_blank=True)
    track_inventory = serializers.BooleanField(required=False)
    inventory_quantity = serializers.IntegerField(required=False, min_value=-(10**9), max_value=10**9)
    allow_backorder = serializers.BooleanField(required=False)
    attributes = serializers.DictField(required=False)
    category = serializers.UUIDField(
        required=False, allow_null=True, help_text="A category of the product's organization; null for none."
    )
    seo_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seo_description = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate_attributes(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class ProductCreateSerializer(ProductWriteSerializer):
    organization = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Product.Status.choices, required=False)


class InventoryAdjustSerializer(serializers.Serializer):
    variant = serializers.UUIDField(
        required=False, help_text="Which variant's stock; may be left out when the product has only one."
    )
    delta = serializers.IntegerField(min_value=-(10**9), max_value=10**9)
    reason = serializers.CharField(max_length=200)


class BulkChangesSerializer(serializers.Serializer):
    # "Nothing to change." without a field; other fields are refused.
    openapi_extra = {"minProperties": 1, "additionalProperties": False}
    status = serializers.ChoiceField(choices=Product.Status.choices, required=False)
    price_cents = serializers.IntegerField(min_value=0, max_value=10**12, required=False)
    compare_at_price_cents = serializers.IntegerField(min_value=0, max_value=10**12, required=False, allow_null=True)
    track_inventory = serializers.BooleanField(required=False)
    allow_backorder = serializers.BooleanField(required=False)

    def to_internal_value(self, data):
        unknown = set(data) - set(BULK_FIELDS) if isinstance(data, dict) else set()
        if unknown:
            raise serializers.ValidationError(f"Cannot bulk-change: {', '.join(sorted(unknown))}.")
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change.")
        return attrs


class BulkUpdateSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=BULK_MAX)
    changes = BulkChangesSerializer()


# --- the list's fast path -------------------------------------------------------------
# A page of 100 rows through ModelSerializer costs more than the query itself, and so does
# shaping `.values()` rows in Python: PostgreSQL writes each row's JSON (the same as
# ProductOutputSerializer's; a test holds the two equal, another every rating average) in the
# list's own query, and the page splices that text in as it is. Python touches only the
# cursor's position fields.
_PRODUCT = '"catalog_product"'


def _iso_sql(column: str) -> str:
    """DRF's DateTimeField text in SQL: UTC, microseconds when there are any, "Z"."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {column}) = {column} "
        f"THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
    )


def _json_object(pairs: dict[str, str], *, without: tuple[str, ...] = ()) -> str:
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs.items() if k not in without) + ")"


_VARIANT_SQL = {
    "id": "v.id",
    "product": "v.product_id",
    "sku": "v.sku",
    "option_values": "v.option_values",
    "price_cents": "v.price_cents",
    "compare_at_price_cents": "v.compare_at_price_cents",
    "effective_price_cents": f"COALESCE(v.price_cents, {_PRODUCT}.price_cents)",
    "track_inventory": "v.track_inventory",
    "inventory_quantity": "v.inventory_quantity",
    "allow_backorder": "v.allow_backorder",
    "in_stock": "(NOT v.track_inventory OR v.allow_backorder OR v.inventory_quantity > 0)",  # ProductVariant.in_stock
    "position": "v.position",
    "is_default": "v.is_default",
}
_VARIANT_ORDER = "v.position, v.created_at, v.id"  # ProductVariant.Meta.ordering within a product


def _product_sql(*, member: bool) -> dict[str, str]:
    variant = _json_object(_VARIANT_SQL, without=() if member else VARIANT_MEMBER_ONLY_FIELDS)
    return {
        "id": f"{_PRODUCT}.id",
        "organization": f"{_PRODUCT}.organization_id",
        "name": f"{_PRODUCT}.name",
        "slug": f"{_PRODUCT}.slug",
        "description": f"{_PRODUCT}.description",
        "price_cents": f"{_PRODUCT}.price_cents",
        "currency": f"{_PRODUCT}.currency",
        "compare_at_price_cents": f"{_PRODUCT}.compare_at_price_cents",
        # Product.default_variant: the first default in the variants' order, else the first variant.
        "sku": f"COALESCE((array_agg(v.sku ORDER BY v.is_default DESC, {_VARIANT_ORDER}))[1], '')",
        "barcode": f"{_PRODUCT}.barcode",
        "track_inventory": "COALESCE(bool_or(v.track_inventory), FALSE)",
        "inventory_quantity": "COALESCE(sum(v.inventory_quantity) FILTER (WHERE v.track_inventory), 0)",
        "allow_backorder": "COALESCE(bool_or(v.allow_backorder), FALSE)",
        "in_stock": f"COALESCE(bool_or({_VARIANT_SQL['in_stock']}), FALSE)",
        "attributes": f"{_PRODUCT}.attributes",
        "images": f"{_PRODUCT}.images",
        "category": f"{_PRODUCT}.category_id",
        # models.rating_average: half up to two decimals.
        "rating_average": f"CASE WHEN {_PRODUCT}.rating_count > 0 "
        f"THEN round({_PRODUCT}.rating_sum::numeric / {_PRODUCT}.rating_count, 2)::float8 END",
        "rating_count": f"{_PRODUCT}.rating_count",
        "seo_title": f"{_PRODUCT}.seo_title",
        "seo_description": f"{_PRODUCT}.seo_description",
        "status": f"{_PRODUCT}.status",
        "published_at": _iso_sql(f"{_PRODUCT}.published_at"),
        "created_at": _iso_sql(f"{_PRODUCT}.created_at"),
        "updated_at": _iso_sql(f"{_PRODUCT}.updated_at"),
        "variants": f"COALESCE(json_agg({variant} ORDER BY {_VARIANT_ORDER}), '[]'::json)",
    }


def _row_json_sql() -> str:
    member, public = _product_sql(member=True), _product_sql(member=False)
    assert list(member) == list(ProductOutputSerializer.Meta.fields)  # noqa: S101 - the same fields, in order
    return (
        f"SELECT CASE WHEN {_PRODUCT}.organization_id = ANY(%s::uuid[]) THEN {_json_object(member)} "  # noqa: S608 - built from constants
        f"ELSE {_json_object(public, without=MEMBER_ONLY_FIELDS)} END::text "
        f"FROM catalog_productvariant v WHERE v.product_id = {_PRODUCT}.id"
    )


ROW_JSON_SQL = _row_json_sql()
# What the cursor paginator reads from a row (its ordering's first field), besides the row's JSON.
POSITION_FIELDS = ("name", "price_cents", "created_at")
_RAW = re.compile(rb'"\\u0000(\d+)\\u0000"')


def row_values(queryset, member_of):
    """The page's rows: the cursor's position fields and ``row_json``, the product as the caller may see it."""
    names = [*POSITION_FIELDS, *(["rank"] if "rank" in queryset.query.annotations else [])]
    member_ids = [str(organization_id) for organization_id in member_of]
    return queryset.values(*names, row_json=RawSQL(ROW_JSON_SQL, [member_ids], output_field=TextField()))  # noqa: S611 - a constant statement


def represent_rows(rows, fragments: list[str]) -> list[str]:
    """Placeholders for the rows' JSON text, which :func:`render_page` splices in."""
    out = []
    for row in rows:
        out.append(f"\x00{len(fragments)}\x00")
        fragments.append(row["row_json"])
    return out


def render_page(data, fragments: list[str]) -> bytes:
    """The page as JSON bytes, each placeholder replaced by its JSON text (one pass)."""
    body = JSONRenderer().render(data)
    return _RAW.sub(lambda match: fragments[int(match[1])].encode(), body)


# --- categories ----------------------------------------------------------------------------------


class CategoryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization = serializers.UUIDField(source="organization_id")
    parent = serializers.UUIDField(source="parent_id", allow_null=True, help_text="Null for a root.")  # type: ignore[assignment]  # a field named like DRF's Field.parent
    name = serializers.CharField()
    slug = serializers.SlugField()
    description = serializers.CharField()
    position = serializers.IntegerField()
    depth = serializers.IntegerField(help_text="1 for a root.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CategoryWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(
        max_length=120, required=False, allow_blank=True, help_text="From the name when empty."
    )
    description = serializers.CharField(required=False, allow_blank=True)
    position = serializers.IntegerField(required=False, min_value=-(10**6), max_value=10**6)


class CategoryCreateSerializer(CategoryWriteSerializer):
    organization = serializers.UUIDField()
    parent = serializers.UUIDField(required=False, allow_null=True, help_text="Null or absent: a root.")  # type: ignore[assignment]  # a field named like DRF's Field.parent


class CategoryMoveSerializer(serializers.Serializer):
    parent = serializers.UUIDField(allow_null=True, help_text="The new parent (same organization); null: a root.")  # type: ignore[assignment]  # a field named like DRF's Field.parent


# --- product images (issue 16) ------------------------------------------------------------------------


class ProductImageOutputSerializer(serializers.ModelSerializer):
    """An image as the product's members manage it (what the product's ``images`` shows, and its file facts)."""

    url = serializers.CharField(read_only=True, help_text="As in the product's `images`.")
    width = serializers.IntegerField(read_only=True, allow_null=True)
    height = serializers.IntegerField(read_only=True, allow_null=True)
    content_type = serializers.CharField(
        read_only=True, help_text="Detected from the content; empty for an image given as a URL."
    )
    size_bytes = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ProductImage
        fields = ("id", "url", "width", "height", "alt", "position", "content_type", "size_bytes", "created_at")
        read_only_fields = fields


class ProductImageUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="JPEG, PNG, WebP or GIF, judged by its content (not its name or type); size and dimensions "
        "limited by PRODUCT_IMAGE_MAX_BYTES and PRODUCT_IMAGE_MAX_DIMENSION."
    )
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(
        min_value=0, max_value=MAX_IMAGES, required=False, help_text="0 first; default: last."
    )


class ProductImageChangeSerializer(serializers.Serializer):
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(
        min_value=0, max_value=MAX_IMAGES, required=False, help_text="Move it here; the others make room."
    )
