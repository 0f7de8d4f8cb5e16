import factory

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
