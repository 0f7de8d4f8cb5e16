from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import pages as account_pages
from apps.billing.api.webhooks import StripeWebhookView
from apps.core import docs as core_docs
from apps.core import views as core_views
from apps.graphql.schema import schema as graphql_schema
from apps.graphql.views import GraphQLView

admin.site.site_header = "Olympus administration"
admin.site.site_title = "Olympus admin"
admin.site.site_url = "/"  # "View site": the home page (core_views.home)

api_v1 = [
    # Apps add their routers here as they land.
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.organizations.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.webhooks.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("", include("apps.analytics.api.urls")),
    path("", include("apps.billing.api.urls")),
    path("", include("apps.reviews.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.ico", permanent=True)),
    # Behind the emailed links when FRONTEND_URL is unset (see docs/accounts.md).
    path("verify-email", account_pages.verify_email_page, name="verify-email-page"),
    path("reset-password", account_pages.reset_password_page, name="reset-password-page"),
    path("live", core_views.live, name="live"),
    path("ready", core_views.ready, name="ready"),
    path("health", core_views.health, name="health"),
    path("metrics", core_views.metrics, name="prometheus-django-metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (no inline script for the CSP to allow).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # ReDoc's own page (its start-up script carries the CSP nonce) with the bundle served without its CDN logo.
    path("api/redoc/", core_docs.RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/redoc/redoc.standalone.js", core_docs.redoc_bundle, name="redoc-bundle"),
    path("api/v1/", include(api_v1)),
    path("graphql", GraphQLView.as_view(schema=graphql_schema), name="graphql"),
    # Stripe calls this (outside the versioned API; authenticated by its signature only).
    path("webhooks/stripe", StripeWebhookView.as_view(), name="stripe-webhook"),
    # Anything else under /api/ answers the JSON envelope, never an HTML page.
    re_path(r"^api/", core_views.api_not_found),
]

# Uploaded files (product images) on the local filesystem, in development (`make run`): Django serves
# MEDIA_ROOT under MEDIA_URL. In production a bucket (or the reverse proxy) serves them (docs/catalog.md).
if settings.DEBUG and not settings.MEDIA_S3_BUCKET:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "apps.core.views.handler400"
handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
