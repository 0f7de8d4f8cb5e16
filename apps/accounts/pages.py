"""The two pages behind the emailed links, served when there is no web client (``FRONTEND_URL`` unset).

They present a form; a static script posts the link's token to the API, which keeps every rule.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def _page(request: HttpRequest, template: str) -> HttpResponse:
    if not settings.ACCOUNT_PAGES:  # a web client of its own serves these links
        raise Http404
    return render(request, template)


def verify_email_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "accounts/verify_email.html")


def reset_password_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "accounts/reset_password.html")
