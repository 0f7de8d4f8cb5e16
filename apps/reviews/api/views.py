"""Reviews over REST: a product's reviews (public cursor list), writing one's own, and moderation."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from apps.core.openapi import documented_error
from apps.core.pagination import CursorPagination
from apps.organizations.permissions import OrganizationPermission, OrganizationScopedMixin, request_permissions
from apps.reviews import selectors, services
from apps.reviews.models import Review
from apps.reviews.serializers import ModerationQueueFilterSerializer, ReviewOutputSerializer, ReviewWriteSerializer

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class ReviewPagination(CursorPagination):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple; the stubs say str


class ProductReviewsView(generics.GenericAPIView):
    """``products/{product_pk}/reviews/``: read approved reviews (and one's own); write one's own."""

    queryset = Review.objects.none()  # for the schema's path parameter only: reads go through the selectors
    serializer_class = ReviewOutputSerializer
    pagination_class = ReviewPagination

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(
        summary="A product's approved reviews, newest first (and the caller's own, whatever its status)",
        responses={200: ReviewOutputSerializer(many=True)},
    )
    def get(self, request, product_pk):
        page = self.paginate_queryset(selectors.product_reviews(user=request.user, product_id=product_pk))
        return self.get_paginated_response(ReviewOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Review a product (signed in; one per customer and product; pending until moderated)",
        request=ReviewWriteSerializer,
        responses={
            201: ReviewOutputSerializer,
            409: documented_error("409", "CONFLICT: you already reviewed this product (edit that review)."),
        },
    )
    def post(self, request, product_pk):
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(user=request.user, product_id=product_pk, data=serializer.validated_data)
        return Response(ReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED)


class ModerationQueueView(OrganizationScopedMixin, generics.GenericAPIView):  # type: ignore[misc]  # DRF Request vs View.request
    """``organizations/{organization_pk}/reviews/``: the organization's reviews to moderate."""

    serializer_class = ReviewOutputSerializer
    pagination_class = ReviewPagination
    permission_classes = [OrganizationPermission]
    organization_permissions = {"GET": "moderate_reviews"}

    def get_queryset(self):
        return Review.objects.none()

    @extend_schema(
        summary="An organization's reviews to moderate, newest first (moderate_reviews)",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=[s.value for s in Review.Status])],
        responses={200: ReviewOutputSerializer(many=True)},
    )
    def get(self, request, organization_pk):
        query = ModerationQueueFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.moderation_queue(organization=self.organization, status=query.validated_data.get("status"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ReviewOutputSerializer(page, many=True).data)


class ReviewViewSet(viewsets.GenericViewSet):
    """``reviews/{id}/``: one review, the author's edit, approve and reject."""

    serializer_class = ReviewOutputSerializer
    pagination_class = ReviewPagination
    permission_classes = [IsAuthenticated]
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return Review.objects.none()

    @extend_schema(summary="Read a review (approved, or your own)")
    def retrieve(self, request, pk=None):
        return Response(ReviewOutputSerializer(selectors.review_get(user=request.user, review_id=pk)).data)

    @extend_schema(
        summary="Edit your review (it is moderated again)",
        request=ReviewWriteSerializer,
        responses={200: ReviewOutputSerializer},
    )
    def partial_update(self, request, pk=None):
        review = selectors.review_get_own(user=request.user, review_id=pk)
        serializer = ReviewWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        review = services.review_update(user=request.user, review=review, data=serializer.validated_data)
        return Response(ReviewOutputSerializer(review).data)

    def _moderate(self, request, pk, decision):
        review = selectors.review_get_for_moderation(user=request.user, review_id=pk)
        review = services.review_moderate(
            review=review,
            status=decision,
            actor=request.user,
            permissions=request_permissions(request, review.organization),
        )
        return Response(ReviewOutputSerializer(review).data)

    @extend_schema(summary="Approve a review (moderate_reviews)", request=None, responses={200: ReviewOutputSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._moderate(request, pk, Review.Status.APPROVED)

    @extend_schema(summary="Reject a review (moderate_reviews)", request=None, responses={200: ReviewOutputSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._moderate(request, pk, Review.Status.REJECTED)
