"""Demo orders for `seed_demo`, one per lifecycle status: idempotent (keyed by ``metadata.demo``)."""

from __future__ import annotations

from collections.abc import Callable

from apps.accounts.models import User
from apps.catalog import services as catalog_services
from apps.catalog.models import Product, ProductVariant
from apps.orders import services
from apps.orders.models import Order
from apps.organizations.models import Organization

DEMO_ADDRESS = {
    "name": "Demo Customer",
    "line1": "1 Market Street",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
# Name -> the transitions that bring a freshly placed (pending) order there.
_Step = Callable[[Order], Order]
PLAN: dict[str, list[_Step]] = {
    "pending": [],
    "confirmed": [lambda o: services.order_confirm(order=o)],
    "processing": [lambda o: services.order_confirm(order=o), lambda o: services.order_process(order=o)],
    "shipped": [
        lambda o: services.order_confirm(order=o),
        lambda o: services.order_process(order=o),
        lambda o: services.order_ship(order=o, carrier="UPS", tracking_number="1Z999AA10123456784"),
    ],
    "delivered": [
        lambda o: services.order_confirm(order=o),
        lambda o: services.order_process(order=o),
        lambda o: services.order_ship(order=o, carrier="DHL", tracking_number="JD014600006281590000"),
        lambda o: services.order_deliver(order=o),
    ],
    "cancelled": [lambda o: services.order_cancel(order=o, reason="Customer changed their mind")],
    "refunded": [lambda o: services.order_confirm(order=o), lambda o: services.order_refund(order=o)],
}


def _demo_variants(organization: Organization) -> list[ProductVariant]:
    """Variants of active products with stock to spare (mugs in several colours too); our own when none."""
    currency = (organization.settings or {}).get("currency", "USD")
    products = list(
        ProductVariant.objects.alive()
        .filter(
            organization=organization,
            product__status=Product.Status.ACTIVE,
            product__currency=currency,
            inventory_quantity__gte=10,
        )
        .order_by("-position", "created_at")[:3]
    )
    for n, (name, price) in enumerate((("Demo Mug", 1400), ("Demo Kettle", 4500), ("Demo Tea", 1200))):
        if len(products) >= 3:
            break
        product = catalog_services.product_create(
            organization=organization,
            data={"name": name, "slug": f"demo-order-{n}", "price_cents": price, "inventory_quantity": 100},
            status=Product.Status.ACTIVE,
        )
        products.append(product.variants.get())
    return products


def seed_orders(organization: Organization, *, customer: User) -> int:
    """Place and move the demo orders that are missing; returns how many were created.

    Each service runs its own transaction (the transitions are durable), so
    call this outside any transaction.
    """
    existing = set(
        Order.objects.filter(organization=organization, metadata__has_key="demo").values_list(
            "metadata__demo", flat=True
        )
    )
    missing = [name for name in PLAN if name not in existing]
    if not missing:
        return 0
    products = _demo_variants(organization)
    for n, name in enumerate(missing):
        order = services.order_place(
            user=customer,
            organization=organization,
            items=[{"variant": products[i % len(products)].pk, "quantity": 1 + (n + i) % 3} for i in range(1 + n % 3)],
            shipping_address=DEMO_ADDRESS,
            customer_notes="Demo order",
            metadata={"demo": name},
        )
        for step in PLAN[name]:
            order = step(order)
    return len(missing)
