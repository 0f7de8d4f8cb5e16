from rest_framework import serializers

from apps.reviews.models import Review


class ReviewOutputSerializer(serializers.ModelSerializer):
    product = serializers.UUIDField(source="product_id", read_only=True)
    author = serializers.SerializerMethodField(help_text="The author's name as they gave it (or 'A customer').")

    class Meta:
        model = Review
        fields = (
            "id",
            "product",
            "author",
            "rating",
            "title",
            "body",
            "status",
            "verified",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_author(self, review: Review) -> str:
        return review.user.full_name or "A customer"


class ReviewWriteSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ModerationQueueFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Review.Status.choices, required=False)
