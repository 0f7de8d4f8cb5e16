"""The refresh token in an HttpOnly cookie, for browser clients (the body form stays for the others).

Login with ``"refresh_cookie": true`` sets the cookie (``HttpOnly; Secure; SameSite=Strict``,
``Path`` the auth endpoints only) and leaves the refresh token out of the body; refresh and
logout then read it from the cookie when the body names none. A cookie is sent by the browser
on its own, so a cookie-authenticated refresh or logout must also pass Django's CSRF check
(the ``X-CSRFToken`` header echoing the ``csrftoken`` cookie, and a same-origin ``Origin``).
Rotation and reuse detection are the services' and the same for both forms.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseBase
from django.middleware.csrf import get_token
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request


def set_refresh_cookie(request: Request, response: HttpResponseBase, refresh: str) -> None:
    response.set_cookie(
        settings.REFRESH_COOKIE_NAME,
        refresh,
        max_age=int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()),
        path=settings.REFRESH_COOKIE_PATH,
        domain=settings.REFRESH_COOKIE_DOMAIN,
        secure=settings.REFRESH_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    get_token(request._request)  # the CSRF cookie the browser echoes on the cookie-authenticated calls


def clear_refresh_cookie(response: HttpResponseBase) -> None:
    response.delete_cookie(
        settings.REFRESH_COOKIE_NAME,
        path=settings.REFRESH_COOKIE_PATH,
        domain=settings.REFRESH_COOKIE_DOMAIN,
        samesite="Strict",
    )


def refresh_from_cookie(request: Request) -> str | None:
    """The cookie's refresh token after a passing CSRF check; None without the cookie; 403 on a failed check."""
    token = request.COOKIES.get(settings.REFRESH_COOKIE_NAME)
    if not token:
        return None

    def no_response(*_args: object, **_kwargs: object) -> HttpResponseBase:
        # CSRFCheck is middleware: it wants a next step (and process_view a view); neither runs.
        return HttpResponseBase()

    check = CSRFCheck(no_response)
    check.process_request(request._request)  # reads the CSRF cookie
    reason = check.process_view(request._request, no_response, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF failed: {reason}")
    return token
