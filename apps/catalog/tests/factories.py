import factory

from apps.catalog.models import Product
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
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    inventory_quantity = 10
    status = Product.Status.ACTIVE
    published_at = factory.Faker("date_time", tzinfo=__import__("datetime").UTC)


def make_category(organization, name, parent=None, **fields):
    """A category through the service (treebeard paths need its insert), as the platform acting."""
    from apps.catalog import services

    return services.category_create(
        organization=organization, data={"name": name, **fields}, parent_id=parent.pk if parent else None
    )
