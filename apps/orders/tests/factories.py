"""Order factories: items take their product from the order's organization.

``OrderFactory`` writes rows directly (any status, no stock taken): for
reads, filters and transitions. Tests of placement call the service.
"""

import factory

from apps.accounts.tests.factories import UserFactory
from apps.catalog.tests.factories import ProductFactory
from apps.orders.models import Order, OrderItem
from apps.organizations.tests.factories import OrganizationFactory

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    customer_email = factory.LazyAttribute(lambda o: o.user.email if o.user else "")
    order_number = factory.Sequence(lambda n: 1001 + n)
    currency = factory.LazyAttribute(lambda o: (o.organization.settings or {}).get("currency", "USD"))
    subtotal_cents = 2000
    total_cents = 2000
    shipping_address = factory.LazyFunction(lambda: dict(ADDRESS))
    billing_address = factory.LazyFunction(lambda: dict(ADDRESS))

    @factory.post_generation
    def lines(obj, create, extracted, **kwargs):
        """``lines=[(product, quantity), ...]``; by default one line of 2 × a 10.00 product."""
        if not create:
            return
        for position, (product, quantity) in enumerate(extracted or []):
            OrderItemFactory(order=obj, product=product, quantity=quantity, position=position)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory, organization=factory.SelfAttribute("..order.organization"))
    quantity = 2
    unit_price_cents = factory.LazyAttribute(lambda o: o.product.price_cents if o.product else 1000)
    total_cents = factory.LazyAttribute(lambda o: o.unit_price_cents * o.quantity)
    product_snapshot = factory.LazyAttribute(
        lambda o: {
            "id": str(o.product.pk) if o.product else None,
            "name": o.product.name if o.product else "Gone",
            "slug": o.product.slug if o.product else "",
            "sku": o.product.sku if o.product else "",
            "price_cents": o.unit_price_cents,
            "currency": o.order.currency,
            "attributes": {},
        }
    )
