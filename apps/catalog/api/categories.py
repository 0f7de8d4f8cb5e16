"""Categories: a public tree per organization; writes by members (roles as for products)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from apps.catalog import selectors, services
from apps.catalog.serializers import (
    CategoryCreateSerializer,
    CategoryMoveSerializer,
    CategoryOutputSerializer,
    CategoryWriteSerializer,
)
from apps.core.openapi import documented_error
from apps.core.pagination import CursorPagination
from apps.organizations.permissions import request_permissions, resolve_organization

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
CONFLICT_SLUG = documented_error("409", "CONFLICT: the slug is taken among the category's siblings.")


class CategoryPagination(CursorPagination):
    ordering = "path"  # depth first: a parent comes right before its subtree (paths are unique)
    page_size = 100


class CategoryViewSet(viewsets.GenericViewSet):
    """An organization's category tree. Anyone reads it; members change it."""

    serializer_class = CategoryOutputSerializer
    pagination_class = CategoryPagination
    lookup_value_regex = UUID_PATTERN

    def get_permissions(self):
        if self.action in {"list", "retrieve"}:
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_queryset(self):
        return selectors.visible_categories()

    def _for_change(self, pk):
        category = selectors.category_get_for_change(user=self.request.user, category_id=pk)
        return category, {
            "actor": self.request.user,
            "permissions": request_permissions(self.request, category.organization),
        }

    def _output(self, category, status_code=status.HTTP_200_OK):
        # The annotated row (with parent_id), as the reads show it.
        category = selectors.category_get(category_id=category.pk)
        return Response(CategoryOutputSerializer(category).data, status=status_code)

    @extend_schema(
        summary="List categories in tree order (depth first)",
        parameters=[
            OpenApiParameter(
                "organization", OpenApiTypes.STR, description="Organization id or slug (an unknown one lists nothing)."
            )
        ],
    )
    def list(self, request):
        organization_param = request.query_params.get("organization")
        organization_id = None
        if organization_param:
            organization = selectors.resolve_organization(organization_param)
            if organization is None:
                return self.get_paginated_response(self.paginate_queryset(selectors.visible_categories().none()))
            organization_id = organization.pk
        page = self.paginate_queryset(selectors.visible_categories(organization_id=organization_id))
        return self.get_paginated_response(CategoryOutputSerializer(page, many=True).data)

    @extend_schema(summary="Read a category")
    def retrieve(self, request, pk=None):
        return Response(CategoryOutputSerializer(selectors.category_get(category_id=pk)).data)

    @extend_schema(
        summary="Create a category (member+), as a root or under `parent`",
        request=CategoryCreateSerializer,
        responses={
            201: CategoryOutputSerializer,
            404: documented_error("404", "NOT_FOUND: the organization does not exist or is not yours."),
            409: CONFLICT_SLUG,
        },
    )
    def create(self, request):
        serializer = CategoryCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = resolve_organization(request, data.pop("organization"))
        category = services.category_create(
            organization=organization,
            data=data,
            parent_id=data.pop("parent", None),
            actor=request.user,
            permissions=request_permissions(request, organization),
        )
        return self._output(category, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a category's name, slug, description or position (member+)",
        request=CategoryWriteSerializer,
        responses={200: CategoryOutputSerializer, 409: CONFLICT_SLUG},
    )
    def partial_update(self, request, pk=None):
        category, caller = self._for_change(pk)
        serializer = CategoryWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category=category, data=serializer.validated_data, **caller)
        return self._output(category)

    @extend_schema(
        summary="Delete an empty category (admin+)",
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: documented_error("409", "CONFLICT: the category has subcategories or products."),
        },
    )
    def destroy(self, request, pk=None):
        category, caller = self._for_change(pk)
        services.category_delete(category=category, **caller)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Move a category and its subtree under another parent, or to the roots (member+)",
        request=CategoryMoveSerializer,
        responses={
            200: CategoryOutputSerializer,
            409: documented_error(
                "409", "CONFLICT: the new parent is the category or below it, or the slug is taken there."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        category, caller = self._for_change(pk)
        serializer = CategoryMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_move(category=category, parent_id=serializer.validated_data["parent"], **caller)
        return self._output(category)
