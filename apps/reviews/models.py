from django.conf import settings
from django.db import models

from apps.core.models import BaseModel


class Review(BaseModel):
    """A signed-in customer's rating of one product: one per customer and product, moderated before it shows."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # The product's organization, kept on the row: moderation and the admin scope by it.
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="reviews")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, max_length=5000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    verified = models.BooleanField(
        default=False, help_text="The customer had a delivered order with this product when they wrote it."
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="reviews_one_per_customer_and_product"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="reviews_rating_1_to_5"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "rejected"]), name="reviews_status_valid"
            ),
        ]
        indexes = [
            # A product's approved reviews, newest first (the public list and Product.reviews).
            models.Index(fields=["product", "status", "-created_at"], name="review_product_status_idx"),
            # An organization's moderation queue.
            models.Index(fields=["organization", "status", "-created_at"], name="review_org_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.title or self.product_id}"
