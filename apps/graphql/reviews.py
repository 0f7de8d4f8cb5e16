"""Reviews: ``Product.reviews`` (approved ones, and the caller's own), writing one's own review, moderation.

Reads go through ``apps.reviews.selectors.visible_reviews``; writes call
``apps.reviews.services`` (moderation: ``moderate_reviews`` in the review's organization).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry.types import Info

from apps.graphql.context import context_of
from apps.graphql.inputs import validated
from apps.reviews import selectors, services
from apps.reviews.models import Review
from apps.reviews.serializers import ReviewWriteSerializer


@strawberry.enum(description="pending (until moderated), approved (public) or rejected.")
class ReviewStatus(enum.Enum):
    PENDING = Review.Status.PENDING.value
    APPROVED = Review.Status.APPROVED.value
    REJECTED = Review.Status.REJECTED.value


@strawberry_django.type(Review, name="Review", description="A customer's rating of a product.")
class ReviewType:
    id: UUID
    rating: int
    title: str
    body: str
    status: ReviewStatus
    verified: bool = strawberry_django.field(description="The author had a delivered order with the product.")
    created_at: datetime
    updated_at: datetime

    @strawberry_django.field(only=["product_id"])
    def product_id(self, root: Review) -> UUID:
        return root.product_id

    @strawberry_django.field(select_related=["user"], only=["user__full_name"], description="The author's name.")
    def author(self, root: Review) -> str:
        return root.user.full_name or "A customer"

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Review], info: Info, **kwargs: Any) -> QuerySet[Review]:
        return queryset & selectors.visible_reviews(user=context_of(info).user)


@strawberry.input(description="Only the fields sent change (all three on a new review; `rating` is required).")
class ReviewInput:
    rating: int | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET


@strawberry.type
class ReviewsMutation:
    @strawberry.mutation(
        description="Review a product (signed in): one per customer and product (CONFLICT on a second), "
        "pending until moderated."
    )
    def review_product(self, info: Info, product_id: UUID, input: ReviewInput) -> ReviewType:  # noqa: A002
        user = context_of(info).require_user()
        data = validated(ReviewWriteSerializer, input)
        return services.review_create(user=user, product_id=product_id, data=data)  # type: ignore[return-value]

    @strawberry.mutation(description="Edit your review; it is moderated again.")
    def update_review(self, info: Info, id: UUID, input: ReviewInput) -> ReviewType:  # noqa: A002
        user = context_of(info).require_user()
        review = selectors.review_get_own(user=user, review_id=id)
        data = validated(ReviewWriteSerializer, input, partial=True)
        return services.review_update(user=user, review=review, data=data)  # type: ignore[return-value]

    @strawberry.mutation(description="Approve or reject a review (moderate_reviews).")
    def moderate_review(self, info: Info, id: UUID, status: ReviewStatus) -> ReviewType:  # noqa: A002
        context = context_of(info)
        review = selectors.review_get_for_moderation(user=context.require_user(), review_id=id)
        context.member_access_require(review.organization)
        return services.review_moderate(  # type: ignore[return-value]
            review=review,
            status=status.value,
            actor=context.user,
            permissions=context.permissions(review.organization),
        )
