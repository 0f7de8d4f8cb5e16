"""Demo reviews for `seed_demo`: idempotent (one per customer and product, as the rule says)."""

from __future__ import annotations

from apps.accounts.models import User
from apps.catalog.models import Product
from apps.organizations.models import Organization
from apps.reviews import services
from apps.reviews.models import Review

# (rating, title, body, decision): approved ones count in the product's rating; one waits for moderation.
REVIEWS = (
    (5, "Makes my mornings", "Rich crema, heats up fast.", "approved"),
    (4, "Solid", "Does what it says; a little loud.", "approved"),
    (2, "Not for me", "Handle gets hot.", "rejected"),
    (3, "Fine", "Waiting to see how it lasts.", None),
)


def seed_reviews(organization: Organization, *, reviewers: list[User]) -> int:
    """Each reviewer reviews the first active products (a delivered order makes it verified); returns reviews added."""
    products = list(
        Product.objects.alive()
        .filter(organization=organization, status=Product.Status.ACTIVE)
        .order_by("created_at")[:4]
    )
    created = 0
    for n, user in enumerate(reviewers):
        for m, product in enumerate(products):
            if Review.objects.filter(product=product, user=user).exists():
                continue
            rating, title, body, decision = REVIEWS[(n + m) % len(REVIEWS)]
            review = services.review_create(
                user=user, product_id=product.pk, data={"rating": rating, "title": title, "body": body}
            )
            if decision is not None:
                services.review_moderate(review=review, status=decision)
            created += 1
    return created
