"""Review writes: one per customer and product, moderation, and the product's rating kept in step.

A product's ``rating_count`` / ``rating_sum`` count approved reviews only. Every
change that moves a review into or out of *approved* (or changes an approved
rating) applies the difference to the product in the same transaction, under
a lock on the review row, so the figures are never off by a concurrent change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import record_and_publish
from apps.catalog.selectors import product_get
from apps.catalog.services import product_rating_apply
from apps.core.exceptions import Conflict, ValidationError
from apps.organizations.policies import permission_require
from apps.reviews.models import Review
from apps.reviews.selectors import delivered_purchase_exists

EDITABLE_FIELDS = ("rating", "title", "body")
MODERATE = "moderate_reviews"


def _snapshot(review: Review) -> dict[str, Any]:
    return {name: getattr(review, name) for name in (*EDITABLE_FIELDS, "status", "verified")}


def _announce(review: Review, event_type: str, **audit: Any) -> None:
    record_and_publish(
        event_type=event_type,
        payload={
            "review_id": str(review.id),
            "product_id": str(review.product_id),
            "rating": review.rating,
            "status": review.status,
        },
        organization=review.organization_id,
        resource_type="review",
        resource_id=review.id,
        **audit,
    )


def _rating_move(review: Review, *, was_approved: bool, old_rating: int) -> None:
    """Apply what this change did to the approved figures of the product."""
    now_approved = review.status == Review.Status.APPROVED
    count_delta = int(now_approved) - int(was_approved)
    sum_delta = (review.rating if now_approved else 0) - (old_rating if was_approved else 0)
    if count_delta or sum_delta:
        product_rating_apply(product_id=review.product_id, count_delta=count_delta, sum_delta=sum_delta)


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
    rating = fields.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        raise ValidationError(details={"rating": ["A whole number from 1 to 5."]})
    return fields


def review_create(*, user: Any, product_id: uuid.UUID | str, data: Mapping[str, Any]) -> Review:
    """A signed-in customer reviews a product they can see: pending until moderated.

    One review per customer and product: a second is 409 ``CONFLICT`` (edit the
    first instead). *Verified* when they have a delivered order with the product.
    """
    fields = _clean(data)
    if "rating" not in fields:
        raise ValidationError(details={"rating": ["This field is required."]})
    product = product_get(user=user, product_id=product_id)
    with transaction.atomic():
        if Review.objects.filter(product=product, user_id=user.pk).exists():
            raise Conflict("You have already reviewed this product; edit that review instead.")
        review = Review(
            organization_id=product.organization_id,
            product=product,
            user=user,
            verified=delivered_purchase_exists(user_id=user.pk, product_id=product.pk),
            **fields,
        )
        review.full_clean()
        try:
            with transaction.atomic():
                review.save()
        except IntegrityError as exc:  # the same customer, twice at once
            raise Conflict("You have already reviewed this product; edit that review instead.") from exc
        _announce(review, "review.created", new_values=_snapshot(review))
    return review


def review_update(*, user: Any, review: Review, data: Mapping[str, Any]) -> Review:
    """The author edits their review: it goes back to pending (moderated again) and out of the rating."""
    fields = _clean(data)
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk, user_id=user.pk)
        before = _snapshot(review)
        changed = {name: value for name, value in fields.items() if getattr(review, name) != value}
        if not changed:
            return review
        was_approved, old_rating = review.status == Review.Status.APPROVED, review.rating
        for name, value in changed.items():
            setattr(review, name, value)
        review.status = Review.Status.PENDING
        review.verified = delivered_purchase_exists(user_id=user.pk, product_id=review.product_id)
        review.moderated_by, review.moderated_at = None, None
        review.full_clean()
        review.save()
        _rating_move(review, was_approved=was_approved, old_rating=old_rating)
        _announce(review, "review.updated", old_values=before, new_values=_snapshot(review))
    return review


def review_moderate(
    *, review: Review, status: str, actor: Any = None, permissions: frozenset[str] | None = None
) -> Review:
    """Approve or reject a review (``moderate_reviews`` in its organization); either way may be reversed.

    Approving adds the rating to the product's figures, rejecting an approved
    review takes it out; the same decision twice changes nothing.
    """
    if status not in (Review.Status.APPROVED, Review.Status.REJECTED):
        raise ValidationError(details={"status": ["approved or rejected."]})
    if actor is not None:
        permission_require(user=actor, organization=review.organization, perm=MODERATE, permissions=permissions)
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.status == status:
            return review
        before = _snapshot(review)
        was_approved = review.status == Review.Status.APPROVED
        review.status = status
        review.moderated_by = actor
        review.moderated_at = timezone.now()
        review.save(update_fields=["status", "moderated_by", "moderated_at", "updated_at"])
        _rating_move(review, was_approved=was_approved, old_rating=review.rating)
        _announce(review, f"review.{status}", old_values=before, new_values=_snapshot(review))
    return review
