"""Product images over REST (issue 16): ``products/{id}/images/`` (list, multipart upload) and
``products/{id}/images/{image_id}/`` (alt text and position, delete). Members of the product's
organization only: another organization's product is 404, a role without ``change_products`` 403."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.catalog import images, selectors
from apps.catalog.models import MAX_IMAGES, ProductImage
from apps.catalog.serializers import (
    ProductImageChangeSerializer,
    ProductImageOutputSerializer,
    ProductImageUploadSerializer,
)
from apps.core.openapi import documented_error
from apps.organizations.permissions import request_permissions

_TOO_MANY = documented_error(
    "409", f"CONFLICT: the product already has {MAX_IMAGES} images (`details.reason` = `too_many_images`)."
)


class ProductImagesView(generics.GenericAPIView):
    """``products/{product_pk}/images/``: a product's images in order; upload one."""

    queryset = ProductImage.objects.none()  # for the schema's path parameter only: reads go through the selectors
    serializer_class = ProductImageOutputSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    pagination_class = None  # at most MAX_IMAGES

    def _product(self, product_pk):
        product = selectors.product_get_for_change(user=self.request.user, product_id=product_pk)
        return product, request_permissions(self.request, product.organization)

    @extend_schema(
        summary="A product's images in order, with their file facts (members of its organization)",
        responses={200: ProductImageOutputSerializer(many=True)},
    )
    def get(self, request, product_pk):
        product, permissions = self._product(product_pk)
        found = selectors.product_images_for_member(product=product, actor=request.user, permissions=permissions)
        return Response(ProductImageOutputSerializer(found, many=True).data)

    @extend_schema(
        summary=f"Upload an image of a product (multipart; member+; at most {MAX_IMAGES} per product)",
        request={"multipart/form-data": ProductImageUploadSerializer},
        responses={
            201: ProductImageOutputSerializer,
            400: documented_error(
                "400",
                "VALIDATION_ERROR: no file, or not a JPEG, PNG, WebP or GIF by its content, or its width or height "
                "outside 1..PRODUCT_IMAGE_MAX_DIMENSION; `details.file` says which.",
            ),
            409: _TOO_MANY,
            413: documented_error("413", "PAYLOAD_TOO_LARGE: the file is larger than PRODUCT_IMAGE_MAX_BYTES."),
            415: documented_error("415", "UNSUPPORTED_MEDIA_TYPE: send multipart/form-data."),
        },
    )
    def post(self, request, product_pk):
        product, permissions = self._product(product_pk)
        serializer = ProductImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        image = images.product_image_add(
            product=product,
            upload=data["file"],
            alt=data.get("alt", ""),
            position=data.get("position"),
            actor=request.user,
            permissions=permissions,
        )
        return Response(ProductImageOutputSerializer(image).data, status=status.HTTP_201_CREATED)


class ProductImageDetailView(generics.GenericAPIView):
    """``products/{product_pk}/images/{image_pk}/``: change alt text or position; delete."""

    queryset = ProductImage.objects.none()
    serializer_class = ProductImageOutputSerializer
    permission_classes = [IsAuthenticated]

    def _image(self, product_pk, image_pk):
        image = selectors.product_image_get_for_change(user=self.request.user, product_id=product_pk, image_id=image_pk)
        return image, request_permissions(self.request, image.product.organization)

    @extend_schema(
        summary="Change an image's alt text or position (member+; the others make room)",
        request=ProductImageChangeSerializer,
        responses={200: ProductImageOutputSerializer},
    )
    def patch(self, request, product_pk, image_pk):
        image, permissions = self._image(product_pk, image_pk)
        serializer = ProductImageChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = images.product_image_update(
            image=image, data=serializer.validated_data, actor=request.user, permissions=permissions
        )
        return Response(ProductImageOutputSerializer(image).data)

    @extend_schema(
        summary="Delete an image (member+); its file is removed once the deletion commits",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request, product_pk, image_pk):
        image, permissions = self._image(product_pk, image_pk)
        images.product_image_delete(image=image, actor=request.user, permissions=permissions)
        return Response(status=status.HTTP_204_NO_CONTENT)
