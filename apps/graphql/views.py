"""``/graphql``: strawberry's Django view with REST's authentication, throttles and error codes."""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException
from strawberry.django.views import GraphQLView as StrawberryGraphQLView
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from apps.accounts.authentication import SessionJWTAuthentication
from apps.core import inputs
from apps.core.exceptions import describe_exception, log_if_server_error
from apps.graphql.context import GraphQLContext
from apps.graphql.errors import error_payload, format_error
from apps.graphql.throttles import REQUEST_THROTTLES, check_throttles

GRAPHIQL_TEMPLATE = "olympus_graphql/graphiql.html"


# Bearer tokens, never cookies, authenticate here (as in REST), so there is no CSRF to defend against.
@method_decorator(csrf_exempt, name="dispatch")
class GraphQLView(StrawberryGraphQLView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            self._authenticate(request)
            if request.method == "POST" or "query" in request.GET:
                check_throttles(request, REQUEST_THROTTLES)
            return self.run(request=request)
        except HTTPException as exc:  # refused by strawberry before any operation ran (bad JSON, GET mutation...)
            code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "VALIDATION_ERROR")
            return JsonResponse(error_payload(code, exc.reason), status=exc.status_code)
        except Exception as exc:  # throttled (429), or the cache or database is down: still the GraphQL shape
            info = describe_exception(exc)
            log_if_server_error(exc, info)
            response = JsonResponse(error_payload(info.code, info.message, info.details), status=info.status)
            for name, value in info.headers.items():
                response[name] = value
            return response

    def _authenticate(self, request: HttpRequest) -> None:
        """REST's bearer authentication; the session cookie (admin sign-in) is not a credential here."""
        request.user = AnonymousUser()
        request._graphql_auth = (None, None)  # type: ignore[attr-defined]
        try:
            result = SessionJWTAuthentication().authenticate(request)  # type: ignore[arg-type]
        except APIException as exc:
            request._graphql_auth = (exc, None)  # type: ignore[attr-defined]
            return
        if result is not None:
            request.user, token = result
            request._graphql_auth = (None, token)  # type: ignore[attr-defined]

    def decode_json(self, data: str | bytes) -> object:
        """Bodies and ``variables`` pass the REST door's limits: JSON depth and storable strings."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "The request body is not UTF-8.") from exc
        inputs.check_json_depth(text)
        decoded = json.loads(text)
        inputs.check_storable(decoded)
        return decoded

    def get_context(self, request: HttpRequest, response: HttpResponse) -> GraphQLContext:  # type: ignore[override]
        auth_error, token = request._graphql_auth  # type: ignore[attr-defined]
        request._graphql_response = response  # type: ignore[attr-defined]
        return GraphQLContext(request=request, response=response, auth_error=auth_error, auth_token=token)

    def process_result(self, request: HttpRequest, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            errors = [format_error(error) for error in result.errors]
            data["errors"] = list(errors)
            # A dependency outage (database, Redis) answers as REST does: 503 with Retry-After.
            if any(error["extensions"]["code"] == "SERVICE_UNAVAILABLE" for error in errors):
                response = getattr(request, "_graphql_response", None)
                if response is not None:
                    response.status_code = 503
                    response["Retry-After"] = str(settings.DEPENDENCY_RETRY_AFTER_SECONDS)
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    # --- GraphiQL: development only, every asset served from our static files --------------

    @property
    def graphql_ide(self) -> str | None:  # type: ignore[override]
        return "graphiql" if settings.GRAPHQL_GRAPHIQL else None

    @graphql_ide.setter
    def graphql_ide(self, value: Any) -> None:
        pass  # decided by settings, not by as_view() arguments

    def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(render_to_string(GRAPHIQL_TEMPLATE, request=request))
