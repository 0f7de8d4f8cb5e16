"""OpenAPI: every operation documents the error envelope for the statuses it can answer."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import FieldDoesNotExist
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema as _AutoSchema
from rest_framework import permissions, serializers

from apps.core.exceptions import ERROR_CODES
from apps.core.inputs import DATETIME_PATTERN


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ERROR_CODES)
    message = serializers.CharField()
    details = serializers.JSONField(help_text="Per-field messages for validation errors; extra facts otherwise.")
    request_id = serializers.CharField(help_text="Also in the X-Request-ID response header.")
    trace_id = serializers.CharField(
        required=False,
        help_text="The OpenTelemetry trace id of the request, when the server traces requests.",
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": (
        "VALIDATION_ERROR: the body or query is not valid (malformed JSON too; JSON nested deeper than the limit; "
        "a NUL or unpaired surrogate in any string; a date-time PostgreSQL cannot hold; a bad `cursor` or "
        "`page_size`). `details` names each field."
    ),
    "401": (
        "UNAUTHORIZED: missing, invalid or expired credentials (an invalid token is refused even where none is needed)."
    ),
    "403": "FORBIDDEN: authenticated, but the role does not allow this.",
    "404": "NOT_FOUND: no such object, or not visible to you.",
    "405": "METHOD_NOT_ALLOWED",
    "413": "PAYLOAD_TOO_LARGE: the body is larger than the server accepts.",
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
    """drf-spectacular's AutoSchema with the shared error set and the API's conventions.

    Every operation documents 401, 429 and 500; authenticated ones 403; body
    operations 400, 413 and 415; operations with a query (filters, ordering,
    pagination) 400; operations with an id in the path 404 (malformed ids too:
    path ids are UUIDs). Output fields that may be sent as ``""`` carry no
    ``uri``/``email`` format.
    """

    def _error_statuses(self) -> list[str]:
        statuses = ["401", "429", "500"]
        is_public = any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        if not is_public:
            statuses.append("403")
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses += ["400", "413", "415"]
        if "{" in self.path:
            statuses.append("404")
        return statuses

    def get_filter_backends(self) -> list[Any]:
        backends = list(super().get_filter_backends())
        # Lists that run their FilterSet by hand (the cached product list) still document its filters.
        if backends and getattr(self.view, "filterset_class", None) and DjangoFilterBackend not in backends:
            backends.append(DjangoFilterBackend)
        return backends

    def _filter_max_length(self, name: str) -> int | None:
        filterset_class = getattr(self.view, "filterset_class", None)
        declared = getattr(filterset_class, "base_filters", {}).get(name)
        return declared.extra.get("max_length") if declared is not None else None

    def _error_response(self, status: str) -> dict[str, Any]:
        response = self._get_response_for_code(ErrorEnvelopeSerializer, status, direction="response")
        response["description"] = ERROR_DESCRIPTIONS[status]
        return response

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._error_response(status)
        return responses

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            if parameter["in"] == "path":
                # Every resource id is a UUID; a malformed one is 404 like a missing one.
                parameter["schema"] = {"type": "string", "format": "uuid"}
            if parameter["in"] == "query":
                # An empty filter or ordering means "not given" (django-filter's rule); an empty page
                # size is malformed, a 400 like any other non-integer.
                if parameter["name"] != "page_size":
                    parameter["allowEmptyValue"] = True
                if parameter.get("schema", {}).get("format") == "date-time":
                    parameter["schema"]["pattern"] = DATETIME_PATTERN
                max_length = self._filter_max_length(parameter["name"])
                if max_length is not None:
                    parameter["schema"]["maxLength"] = max_length
        if any(parameter["in"] == "query" for parameter in parameters) and "400" not in operation["responses"]:
            operation["responses"]["400"] = self._error_response("400")
        return operation

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        properties = schema.get("properties", {})
        if direction == "response":
            for name, field in serializer.fields.items():
                prop = properties.get(name)
                if prop and prop.get("format") in {"uri", "email"} and _may_be_blank(field):
                    del prop["format"]
                    prop["description"] = (prop.get("description", "") + " May be empty.").strip()
        # Keywords a serializer's own validation adds (e.g. ``minProperties``) live on the serializer.
        schema.update(getattr(serializer, "openapi_extra", {}))
        return schema


def _may_be_blank(field: Any) -> bool:
    """``""`` is a value of this output field: it allows blank, or its model field does."""
    if getattr(field, "allow_blank", False):
        return True
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    if model is None or not isinstance(getattr(field, "source", None), str):
        return False
    try:
        return bool(model._meta.get_field(field.source).blank)
    except FieldDoesNotExist:  # a computed source (property, method)
        return False
