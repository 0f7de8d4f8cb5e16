"""A catalog worth browsing for `seed_demo`: idempotent (keyed by slug)."""

from apps.catalog import services
from apps.catalog.models import Category, Product
from apps.organizations.models import Organization

ADJECTIVES = ("Classic", "Organic", "Handmade", "Compact", "Premium", "Vintage")
ITEMS = (
    ("Espresso Machine", "Brews rich espresso with a 15-bar pump and steam wand.", 24900),
    ("Pour-Over Kettle", "Gooseneck kettle for precise pour-over coffee.", 4500),
    ("Ceramic Mug", "Stoneware mug, dishwasher safe, 350 ml.", 1400),
    ("Green Tea", "Loose-leaf sencha from Shizuoka, 100 g.", 1200),
    ("Coffee Grinder", "Conical burr grinder with 40 grind settings.", 8900),
    ("Tea Infuser", "Stainless steel mesh infuser for loose tea.", 900),
)


def seed_products(organization: Organization) -> int:
    """Create the demo products that are missing; returns how many were created."""
    existing = set(Product.objects.alive().filter(organization=organization).values_list("slug", flat=True))
    created = 0
    for n, adjective in enumerate(ADJECTIVES):
        for m, (item, description, price) in enumerate(ITEMS):
            name = f"{adjective} {item}"
            slug = f"demo-{n}-{m}"
            if slug in existing:
                continue
            product = services.product_create(
                organization=organization,
                data={
                    "name": name,
                    "slug": slug,
                    "description": description,
                    "price_cents": price + n * 100,
                    "sku": f"DEMO-{n:02d}{m:02d}",
                    "inventory_quantity": (n * 7 + m * 3) % 25,
                    "attributes": {"line": adjective.lower()},
                },
                # A few drafts and archived ones so members see the difference.
                status="draft" if (n + m) % 9 == 0 else ("archived" if (n + m) % 11 == 0 else "active"),
            )
            _seed_variants(product, sku=f"DEMO-{n:02d}{m:02d}", item=item, stock=(n * 7 + m * 3) % 25)
            created += 1
    return created


# Demo items sold in several versions: (option name, values with an optional price override).
ITEM_VARIANTS: dict[str, tuple[str, tuple[tuple[str, int | None], ...]]] = {
    "Ceramic Mug": ("color", (("White", None), ("Black", None), ("Ocean Blue", 1600))),
    "Green Tea": ("size", (("100 g", None), ("250 g", 2600), ("500 g", 4800))),
}


def _seed_variants(product: Product, *, sku: str, item: str, stock: int) -> None:
    """Give the demo mugs and teas their colours and sizes (the default variant becomes the first)."""
    if item not in ITEM_VARIANTS:
        return
    option, values = ITEM_VARIANTS[item]
    default = product.variants.get()
    services.variant_update(variant=default, data={"option_values": {option: values[0][0]}})
    for position, (value, price) in enumerate(values[1:], start=1):
        services.variant_create(
            product=product,
            data={
                "sku": f"{sku}-{position}",
                "option_values": {option: value},
                "price_cents": price,
                "inventory_quantity": stock + 5 * position,
                "position": position,
            },
        )


# The demo tree: (name, children); each demo item goes under the category named beside it.
CATEGORY_TREE = (
    ("Coffee", ("Espresso", "Brewing")),
    ("Tea", ("Loose leaf", "Tea accessories")),
    ("Kitchen", ("Mugs",)),
)
ITEM_CATEGORY = {
    "Espresso Machine": "Espresso",
    "Pour-Over Kettle": "Brewing",
    "Ceramic Mug": "Mugs",
    "Green Tea": "Loose leaf",
    "Coffee Grinder": "Brewing",
    "Tea Infuser": "Tea accessories",
}


def seed_categories(organization: Organization) -> int:
    """Create the demo category tree where missing and file uncategorised demo products; returns categories added."""
    existing = {c.name: c for c in Category.objects.filter(organization=organization)}
    created = 0
    for position, (name, children) in enumerate(CATEGORY_TREE):
        if name not in existing:
            existing[name] = services.category_create(
                organization=organization, data={"name": name, "position": position}
            )
            created += 1
        for child in children:
            if child not in existing:
                existing[child] = services.category_create(
                    organization=organization, data={"name": child}, parent_id=existing[child_parent(child)].pk
                )
                created += 1
    for product in Product.objects.alive().filter(organization=organization, category__isnull=True):
        item = next((item for item in ITEM_CATEGORY if product.name.endswith(item)), None)
        if item is not None:
            services.product_update(product=product, data={"category": existing[ITEM_CATEGORY[item]].pk})
    return created


def child_parent(child: str) -> str:
    return next(name for name, children in CATEGORY_TREE if child in children)
