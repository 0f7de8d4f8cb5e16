from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.audit import context


class AuditContextMiddleware:
    """Binds the audit context (actor, IP, user agent, request id) for the length of a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = context.bind(context.context_from_request(request))
        try:
            return self.get_response(request)
        finally:
            context.unbind(token)
