"""The plans Olympus starts with (free, pro, enterprise). Staff edit them in the admin afterwards.

Used by the seeding migration and, as a fallback, when the plan table is
empty (a test database flushed by a transactional test): an organization is
then still on the ``free`` plan defined here, never on "no limits".
"""

from __future__ import annotations

from typing import Any

UNLIMITED = None

PLANS = [
    {
        "code": "free",
        "name": "Free",
        "description": "For trying Olympus out: a small catalog and team.",
        "position": 0,
        "is_default": True,
        "monthly_price_cents": 0,
        "yearly_price_cents": 0,
        "features": [],
        "limits": {"products": 50, "members": 5, "orders_per_month": 100, "webhook_endpoints": 0},
    },
    {
        "code": "pro",
        "name": "Pro",
        "description": "For growing shops: webhooks and analytics, a bigger catalog and team.",
        "position": 10,
        "is_default": False,
        "monthly_price_cents": 2900,
        "yearly_price_cents": 29000,
        "features": ["webhooks", "analytics"],
        "limits": {"products": 1000, "members": 25, "orders_per_month": 10000, "webhook_endpoints": 10},
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "description": "No limits, every feature including the GraphQL API.",
        "position": 20,
        "is_default": False,
        "monthly_price_cents": 29900,
        "yearly_price_cents": 299000,
        "features": ["webhooks", "analytics", "graphql"],
        "limits": {
            "products": UNLIMITED,
            "members": UNLIMITED,
            "orders_per_month": UNLIMITED,
            "webhook_endpoints": UNLIMITED,
        },
    },
]
DEFAULT_PLAN_CODE = "free"


def seed_default_plans(plan_model: Any) -> int:
    """Create the plans that are missing (by code); existing plans are left alone. Returns how many were created."""
    created = 0
    for values in PLANS:
        _, was_created = plan_model.objects.get_or_create(
            code=values["code"], defaults={**values, "currency": "USD", "is_active": True}
        )
        created += was_created
    return created
