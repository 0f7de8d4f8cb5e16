from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters as drf_filters
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core import idempotency
from apps.core.idempotency import REPLAYED_HEADER, idempotent_response
from apps.core.openapi import ErrorEnvelopeSerializer
from apps.core.pagination import CursorPagination
from apps.orders import selectors, services
from apps.orders.filters import OrderFilter
from apps.orders.serializers import (
    OrderListOutputSerializer,
    OrderOutputSerializer,
    OrderPlaceInputSerializer,
    OrderReasonInputSerializer,
    OrderShipInputSerializer,
    OrderUpdateInputSerializer,
    RefundInputSerializer,
    RefundOutputSerializer,
    order_output,
)
from apps.organizations.permissions import request_permissions

REFUND_SCHEMA = extend_schema(
    summary=(
        "Refund an order (members with change_orders). Paid through Stripe: a full or partial (`amount_cents`) "
        "Stripe refund, 202; the order's payment_status and status follow Stripe's webhook. "
        "Otherwise: the refund transition, 200."
    ),
    request=RefundInputSerializer,
    parameters=[
        idempotency.openapi_parameter(f"Stripe refunds only (no second refund on a replay). {idempotency.KEY_RULES}")
    ],
    responses={
        200: OpenApiResponse(OrderOutputSerializer, description="Not paid through Stripe: the refunded order."),
        202: RefundOutputSerializer,
        409: OpenApiResponse(
            ErrorEnvelopeSerializer,
            description="INVALID_TRANSITION or CONFLICT: nothing to refund, or already fully refunded.",
        ),
        422: OpenApiResponse(
            ErrorEnvelopeSerializer, description="IDEMPOTENCY_KEY_REUSED: this key came with another body."
        ),
        503: OpenApiResponse(ErrorEnvelopeSerializer, description="SERVICE_UNAVAILABLE: Stripe is unreachable."),
    },
)
INVALID_TRANSITION = OpenApiResponse(
    ErrorEnvelopeSerializer,
    description="INVALID_TRANSITION: the order's status does not allow it; `details.allowed` lists what does.",
)


def _transition_schema(summary: str, request=None):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: OrderOutputSerializer, 409: INVALID_TRANSITION},
    )


class OrderPagination(CursorPagination):
    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        # A unique tie-breaker keeps cursors stable when totals or times repeat.
        return (*ordering, "-id") if "-id" not in ordering and "id" not in ordering else ordering


@extend_schema_view(
    list=extend_schema(
        summary="List orders (customers: their own; members: their organizations')",
        responses={200: OrderListOutputSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="Read an order with its items"),
)
class OrderViewSet(viewsets.GenericViewSet):
    """Orders: placement (any signed-in user), reads, the lifecycle transitions and staff notes.

    A transition needs ``change_orders`` on the order's organization, except
    that a customer may cancel their own pending order.
    """

    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilter
    filter_backends = [DjangoFilterBackend, drf_filters.OrderingFilter]
    ordering_fields = ("created_at", "order_number", "total_cents")
    ordering = ("-created_at",)
    pagination_class = OrderPagination
    lookup_value_regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def _member_of(self):
        """The user's organizations, computed once per request (serializers and selectors share it)."""
        if not hasattr(self.request, "_orders_member_of"):
            self.request._orders_member_of = selectors.member_organization_ids(user=self.request.user)
        return self.request._orders_member_of

    def get_queryset(self):
        return selectors.order_list(user=self.request.user, member_of=self._member_of())

    def _output(self, order, status_code=status.HTTP_200_OK):
        context = {"member_of": self._member_of()}
        return Response(OrderOutputSerializer(order, context=context).data, status=status_code)

    def _get(self, pk):
        return selectors.order_get(user=self.request.user, order_id=pk, member_of=self._member_of())

    # --- reads -------------------------------------------------------------------------

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = OrderListOutputSerializer(page, many=True, context={"member_of": self._member_of()}).data
        return self.get_paginated_response(data)

    def retrieve(self, request, pk=None):
        return self._output(self._get(pk))

    # --- placement ---------------------------------------------------------------------

    @extend_schema(
        summary="Place an order",
        request=OrderPlaceInputSerializer,
        parameters=[
            idempotency.openapi_parameter(f"{idempotency.KEY_RULES} A replay carries `{REPLAYED_HEADER}: true`."),
            OpenApiParameter(
                REPLAYED_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true", "false"],
                description="Sent when the request had an Idempotency-Key: `true` when this is a replay.",
                response=[201, 400, 404, 409],
            ),
        ],
        responses={
            201: OrderOutputSerializer,
            400: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="VALIDATION_ERROR; VARIANT_REQUIRED: a line names a product with several variants.",
            ),
            404: OpenApiResponse(ErrorEnvelopeSerializer, description="NOT_FOUND: no such organization."),
            409: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description=(
                    "INSUFFICIENT_STOCK: `details.available` maps each short variant to what is left "
                    "(nothing was reserved); CONFLICT: the organization is not accepting orders."
                ),
            ),
            422: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="IDEMPOTENCY_KEY_REUSED: this Idempotency-Key came with another body.",
            ),
        },
    )
    def create(self, request):
        return idempotent_response(request, handler=lambda: self._place(request))

    def _place(self, request):
        serializer = OrderPlaceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = selectors.organization_for_ordering(
            organization_id=data["organization"], user_id=request.user.pk
        )
        order = services.order_place(
            user=request.user,
            organization=organization,
            items=data["items"],
            shipping_address=data["shipping_address"],
            billing_address=data.get("billing_address"),
            customer_notes=data.get("customer_notes", ""),
        )
        # The order's items come with it and membership came with the organization: no query here.
        return Response(order_output(order, member=organization.orderer_is_member), status=status.HTTP_201_CREATED)

    # --- staff fields ------------------------------------------------------------------

    @extend_schema(summary="Change internal notes or metadata (members)", request=OrderUpdateInputSerializer)
    def partial_update(self, request, pk=None):
        order = self._get(pk)
        serializer = OrderUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_update(
            order=order,
            data=serializer.validated_data,
            actor=request.user,
            permissions=request_permissions(request, order.organization),
        )
        return self._output(self._get(pk))

    # --- the lifecycle -----------------------------------------------------------------

    def _transition(self, request, pk, name, input_serializer=None):
        order = self._get(pk)
        arguments = {}
        if input_serializer is not None:
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            arguments = dict(serializer.validated_data)
        services.order_transition(
            actor=request.user,
            order=order,
            name=name,
            permissions=request_permissions(request, order.organization),
            **arguments,
        )
        return self._output(self._get(pk))

    @_transition_schema("Confirm a pending order (emails the customer)")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._transition(request, pk, "confirm")

    @_transition_schema("Start processing a confirmed order")
    @action(detail=True, methods=["post"])
    def process(self, request, pk=None):
        return self._transition(request, pk, "process")

    @_transition_schema("Ship a processing order (emails the customer)", OrderShipInputSerializer)
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        return self._transition(request, pk, "ship", OrderShipInputSerializer)

    @_transition_schema("Mark a shipped order delivered")
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        return self._transition(request, pk, "deliver")

    @_transition_schema(
        "Cancel an order (customers: their own pending ones); returns its stock, emails the customer",
        OrderReasonInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(request, pk, "cancel", OrderReasonInputSerializer)

    @REFUND_SCHEMA
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        return idempotent_response(request, handler=lambda: self._refund(request, pk))

    def _refund(self, request, pk):
        order = self._get(pk)
        serializer = RefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.order_refund_request(
            actor=request.user,
            order=order,
            amount_cents=serializer.validated_data.get("amount_cents"),
            reason=serializer.validated_data["reason"],
            idempotency_key=idempotency.header_key(request) or "",
            permissions=request_permissions(request, order.organization),
        )
        if result.payment_refund is not None:  # asynchronous: the order follows Stripe's report
            return Response(RefundOutputSerializer(result.payment_refund).data, status=status.HTTP_202_ACCEPTED)
        return self._output(self._get(pk))
