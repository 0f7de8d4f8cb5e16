"""``POST /webhooks/stripe``: no authentication but Stripe's signature; store once, answer fast."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.billing import services
from apps.billing.api.serializers import StripeWebhookOutputSerializer
from apps.core.openapi import ErrorEnvelopeSerializer


class RawJSONParser(BaseParser):
    """Leaves the body alone: the signature is computed over the exact bytes Stripe sent."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:
        return stream.read() if stream is not None else b""


class StripeWebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [RawJSONParser]
    throttle_classes: list[Any] = []

    @extend_schema(
        tags=["webhooks"],
        summary="Stripe webhook endpoint (signed by Stripe; configure its URL and secret in Stripe)",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>' with the endpoint secret>.",
            )
        ],
        responses={
            200: StripeWebhookOutputSerializer,
            400: OpenApiResponse(
                ErrorEnvelopeSerializer, description="VALIDATION_ERROR: missing, wrong or stale signature; bad body."
            ),
            503: OpenApiResponse(ErrorEnvelopeSerializer, description="SERVICE_UNAVAILABLE: no endpoint secret set."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        payload = request.body
        services.stripe_signature_verify(payload=payload, header=request.headers.get("Stripe-Signature"))
        event, created = services.stripe_event_record(payload=payload)
        return Response(StripeWebhookOutputSerializer({"received": True, "duplicate": not created}).data)
