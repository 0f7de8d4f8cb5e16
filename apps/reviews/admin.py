from django.contrib import admin

from apps.organizations.admin_tenancy import TenantAdmin
from apps.reviews import services
from apps.reviews.models import Review


@admin.register(Review)
class ReviewAdmin(TenantAdmin):
    """Moderation: approve or reject through the same service (and permission) as the API."""

    list_display = ("product", "organization", "user", "rating", "title", "status", "verified", "created_at")
    list_filter = ("status", "verified", "organization")
    list_select_related = ("product", "organization", "user")
    search_fields = ("title", "body", "product__name", "user__email")
    ordering = ("-created_at",)
    readonly_fields = (
        "id",
        "organization",
        "product",
        "user",
        "rating",
        "title",
        "body",
        "status",
        "verified",
        "moderated_by",
        "moderated_at",
        "created_at",
        "updated_at",
    )
    actions = ("approve", "reject")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _moderate(self, request, queryset, decision, done):
        self.run_service(
            request,
            list(queryset.select_related("organization")),
            lambda review: services.review_moderate(review=review, status=decision, actor=request.user),
            done,
        )

    @admin.action(description="Approve (counts in the product's rating)")
    def approve(self, request, queryset):
        self._moderate(request, queryset, Review.Status.APPROVED, "{count} review(s) approved.")

    @admin.action(description="Reject")
    def reject(self, request, queryset):
        self._moderate(request, queryset, Review.Status.REJECTED, "{count} review(s) rejected.")
