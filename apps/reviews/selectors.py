"""Review reads: what a reader may see, the moderation queue, and whether a purchase was delivered."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from apps.catalog.selectors import product_get
from apps.core.exceptions import NotFound
from apps.orders.selectors import customer_received_product
from apps.organizations.models import Organization
from apps.organizations.selectors import scope_to_organization
from apps.reviews.models import Review


def visible_reviews(*, user: Any) -> QuerySet[Review]:
    """Approved reviews for everyone, and the reader's own whatever their status (newest first)."""
    visible = Q(status=Review.Status.APPROVED)
    if getattr(user, "is_authenticated", False):
        visible |= Q(user_id=user.pk)
    return Review.objects.filter(visible, product__deleted_at__isnull=True).order_by("-created_at", "-id")


def product_reviews(*, user: Any, product_id: uuid.UUID | str) -> QuerySet[Review]:
    """The reviews the user may see of a product they may see (NotFound for a product they may not)."""
    product = product_get(user=user, product_id=product_id)
    return visible_reviews(user=user).filter(product=product).select_related("user")


def review_get(*, user: Any, review_id: uuid.UUID | str) -> Review:
    try:
        return visible_reviews(user=user).select_related("user").get(pk=review_id)
    except (Review.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("Review not found.") from exc


def review_get_own(*, user: Any, review_id: uuid.UUID | str) -> Review:
    """The user's own review (for an edit), or NotFound: nobody edits another's words."""
    try:
        return Review.objects.select_related("user", "organization").get(pk=review_id, user_id=user.pk)
    except (Review.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("Review not found.") from exc


def review_get_for_moderation(*, user: Any, review_id: uuid.UUID | str) -> Review:
    """A review of one of the user's organizations, or NotFound; whether the role moderates is the service's call."""
    try:
        return scope_to_organization(Review.objects.select_related("organization", "user"), user=user).get(pk=review_id)
    except (Review.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("Review not found.") from exc


def moderation_queue(*, organization: Organization, status: str | None = None) -> QuerySet[Review]:
    """The organization's reviews (one status, or all), newest first; the caller checked ``moderate_reviews``."""
    queryset = Review.objects.filter(organization=organization).select_related("user")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def delivered_purchase_exists(*, user_id: Any, product_id: uuid.UUID) -> bool:
    """Whether the customer has a delivered order with this product: what makes a review *verified*."""
    return customer_received_product(user_id=user_id, product_id=product_id)
