import factory
from django.db import connection

from apps.catalog.models import Product, ProductVariant
from apps.organizations.tests.factories import OrganizationFactory


class ProductFactory(factory.django.DjangoModelFactory):
    """An active, tracked product with stock; currency follows its organization."""

    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    price_cents = 1000
    currency = factory.LazyAttribute(lambda o: (o.organization.settings or {}).get("currency", "USD"))
    status = Product.Status.ACTIVE
    published_at = factory.Faker("date_time", tzinfo=__import__("datetime").UTC)
    # The default variant's fields (a product is sold through its variants).
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    inventory_quantity = 10
    track_inventory = True
    allow_backorder = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        variant = {name: kwargs.pop(name) for name in VARIANT_KWARGS if name in kwargs}
        product = super()._create(model_class, *args, variant_skus=variant.get("sku", ""), **kwargs)
        ProductVariant.objects.create(
            organization_id=product.organization_id,
            product=product,
            is_default=True,
            deleted_at=product.deleted_at,
            **variant,
        )
        return product


VARIANT_KWARGS = ("sku", "inventory_quantity", "track_inventory", "allow_backorder")


class VariantFactory(factory.django.DjangoModelFactory):
    """A further (non-default) variant of a product."""

    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    organization = factory.LazyAttribute(lambda o: o.product.organization)
    sku = factory.Sequence(lambda n: f"VAR-{n:05d}")
    option_values = factory.Sequence(lambda n: {"size": f"S{n}"})
    inventory_quantity = 10


def make_category(organization, name, parent=None, **fields):
    """A category through the service (treebeard paths need its insert), as the platform acting."""
    from apps.catalog import services

    return services.category_create(
        organization=organization, data={"name": name, **fields}, parent_id=parent.pk if parent else None
    )


def vid(product):
    """The id of the product's default variant (what orders and stock primitives name)."""
    return ProductVariant.objects.filter(product=product, is_default=True).values_list("id", flat=True).get()


def copy_products(*, template, tenants, count, **expressions):
    """``count`` copies of ``template`` in one ``INSERT … SELECT`` (set-based, as the scale benchmark generates):
    half in ``tenants[0]``, the rest spread over the others, one in seven soft-deleted, each a ``created_at``
    step older (``g`` is the copy's number). ``expressions`` replace a column's SQL (``%(words)s`` style
    parameters go in ``params``)."""
    params = expressions.pop("params", {})
    columns_sql = {
        "id": "gen_random_uuid()",
        "created_at": "p.created_at - g * interval '1 minute'",
        "organization_id": "CASE WHEN g %% 2 = 0 THEN %(big)s::uuid ELSE (%(others)s::uuid[])[1 + g %% 39] END",
        "slug": "p.slug || '-' || g",
        "name": "p.name || ' ' || g",
        "deleted_at": "CASE WHEN g %% 7 = 0 THEN now() END",
        **expressions,
    }
    columns = [f.column for f in Product._meta.concrete_fields if not f.generated]
    select = ", ".join(columns_sql.get(column, f"p.{column}") for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO catalog_product ({', '.join(columns)}) SELECT {select} "  # noqa: S608 - model columns
            "FROM catalog_product p, generate_series(1, %(count)s) AS g WHERE p.id = %(template)s",
            {
                "big": tenants[0].pk,
                "others": [t.pk for t in tenants[1:]],
                "count": count,
                "template": template.pk,
                **params,
            },
        )
