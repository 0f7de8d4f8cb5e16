"""OpenAPI: every operation documents the error envelope for the statuses it can answer."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as _AutoSchema
from rest_framework import permissions, serializers

from apps.core.exceptions import ERROR_CODES


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ERROR_CODES)
    message = serializers.CharField()
    details = serializers.JSONField(help_text="Per-field messages for validation errors; extra facts otherwise.")
    request_id = serializers.CharField(help_text="Also in the X-Request-ID response header.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "VALIDATION_ERROR: the body or query is not valid (malformed JSON too).",
    "401": "UNAUTHORIZED: missing, invalid or expired credentials.",
    "403": "FORBIDDEN: authenticated, but the role does not allow this.",
    "404": "NOT_FOUND: no such object, or not visible to you.",
    "405": "METHOD_NOT_ALLOWED",
    "415": "UNSUPPORTED_MEDIA_TYPE: send application/json.",
    "429": "RATE_LIMIT_EXCEEDED: slow down; see Retry-After.",
    "500": "INTERNAL_ERROR: logged with the request id; no internals are returned.",
}
# Statuses only some operations answer; declare them with ``documented_error("402")``.
ERROR_DESCRIPTIONS_OPTIONAL = {
    "402": (
        "PLAN_LIMIT_REACHED or FEATURE_NOT_IN_PLAN: the organization's plan does not allow this; "
        "details name the limit (with the current count) or feature, the plan, and the plan that lifts it."
    ),
    "409": "CONFLICT: the request conflicts with the current state (details.reason says how).",
    "422": "IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used with a different body.",
    "503": "SERVICE_UNAVAILABLE: a service this needs (e.g. the payment provider) is unavailable; retry later.",
}


def documented_error(status: str, description: str | None = None) -> Any:
    """An error-envelope response for ``extend_schema(responses={...})``."""
    from drf_spectacular.utils import OpenApiResponse

    return OpenApiResponse(ErrorEnvelopeSerializer, description=description or ERROR_DESCRIPTIONS_OPTIONAL[status])


class AutoSchema(_AutoSchema):
    def _error_statuses(self) -> list[str]:
        statuses = ["429", "500"]
        is_public = any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        if not is_public:
            statuses += ["401", "403"]
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses += ["400", "415"]
        if "{" in self.path:
            statuses.append("404")
        return statuses

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status not in responses:
                response = self._get_response_for_code(ErrorEnvelopeSerializer, status, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[status]
                responses[status] = response
        return responses
