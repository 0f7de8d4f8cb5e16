"""Order payments: ``POST orders/{id}/payment/`` (the customer) and the Stripe side of ``POST orders/{id}/refund/``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.billing.models import Payment, Refund
from apps.billing.services import payments as services
from apps.core import idempotency
from apps.core.exceptions import PermissionDenied
from apps.core.idempotency import idempotent_response
from apps.core.openapi import ErrorEnvelopeSerializer
from apps.orders import selectors as order_selectors
from apps.orders.api.serializers import OrderOutputSerializer
from apps.orders.models import Order
from apps.organizations.permissions import require_permission


class PaymentIntentOutputSerializer(serializers.Serializer):
    payment_intent = serializers.CharField(help_text="The Stripe PaymentIntent id.")
    client_secret = serializers.CharField(help_text="For Stripe.js confirmCardPayment / Payment Element.")
    status = serializers.CharField(help_text="Stripe's PaymentIntent status.")
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()


class RefundInputSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField(min_value=1, required=False, help_text="Omit for a full refund.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundOutputSerializer(serializers.ModelSerializer):
    order = serializers.UUIDField(source="payment.order_id")
    stripe_refund_id = serializers.CharField()

    class Meta:
        model = Refund
        fields = ["id", "order", "stripe_refund_id", "amount_cents", "currency", "status", "reason", "created_at"]


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorEnvelopeSerializer, description=description)


class OrderPaymentView(APIView):
    @extend_schema(
        tags=["orders"],
        summary="Pay for an order: create (once) or return its Stripe PaymentIntent (the order's customer)",
        request=None,
        responses={
            200: PaymentIntentOutputSerializer,
            409: _error("CONFLICT: the order cannot be paid (cancelled, refunded, nothing to pay)."),
            503: _error("SERVICE_UNAVAILABLE: Stripe is unreachable or billing is not configured."),
        },
    )
    def post(self, request: Request, order_id: Any) -> Response:
        order = order_selectors.order_get(user=request.user, order_id=order_id)
        if order.user_id != request.user.pk:
            raise PermissionDenied("Only the order's customer pays for it.")
        payment, intent = services.order_payment_intent(user=request.user, order=order)
        data = {
            "payment_intent": payment.stripe_payment_intent_id,
            "client_secret": intent["client_secret"],
            "status": intent["status"],
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
        }
        return Response(PaymentIntentOutputSerializer(data).data)


def has_stripe_payment(order: Order) -> bool:
    """Whether the order was paid through Stripe (its refunds then go through Stripe too)."""
    return Payment.objects.filter(order=order, status="succeeded").exists()


def stripe_refund(request: Request, order: Order) -> Response:
    """The Stripe branch of the orders refund action: 202, the order follows Stripe's ``charge.refunded``."""
    require_permission(request, order.organization, "change_orders")

    def refund() -> Response:
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.payment_refund(
            actor=request.user,
            order=order,
            amount_cents=data.validated_data.get("amount_cents"),
            reason=data.validated_data["reason"],
            idempotency_key=idempotency.header_key(request) or "",
        )
        return Response(RefundOutputSerializer(row).data, status=status.HTTP_202_ACCEPTED)

    return idempotent_response(request, handler=refund)


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
        409: _error("INVALID_TRANSITION or CONFLICT: nothing to refund, or already fully refunded."),
        422: _error("IDEMPOTENCY_KEY_REUSED: this key came with another body."),
        503: _error("SERVICE_UNAVAILABLE: Stripe is unreachable."),
    },
)
