"""Order payments: ``POST orders/{id}/payment/`` (the customer); refunds go through ``POST orders/{id}/refund/``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.billing.services import payments as services
from apps.core.openapi import ErrorEnvelopeSerializer
from apps.orders import selectors as order_selectors


class PaymentIntentOutputSerializer(serializers.Serializer):
    payment_intent = serializers.CharField(help_text="The Stripe PaymentIntent id.")
    client_secret = serializers.CharField(help_text="For Stripe.js confirmCardPayment / Payment Element.")
    status = serializers.CharField(help_text="Stripe's PaymentIntent status.")
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()


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
        payment, intent = services.order_payment_intent(user=request.user, order=order)
        data = {
            "payment_intent": payment.stripe_payment_intent_id,
            "client_secret": intent["client_secret"],
            "status": intent["status"],
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
        }
        return Response(PaymentIntentOutputSerializer(data).data)
