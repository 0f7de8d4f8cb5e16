from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.billing.api.webhooks import StripeWebhookView
from apps.core import views as core_views
from apps.graphql.schema import schema as graphql_schema
from apps.graphql.views import GraphQLView

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
]

urlpatterns = [
    path("live", core_views.live, name="live"),
    path("ready", core_views.ready, name="ready"),
    path("health", core_views.health, name="health"),
    path("", include("django_prometheus.urls")),  # /metrics
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include(api_v1)),
    path("graphql", GraphQLView.as_view(schema=graphql_schema), name="graphql"),
    # Stripe calls this (outside the versioned API; authenticated by its signature only).
    path("webhooks/stripe", StripeWebhookView.as_view(), name="stripe-webhook"),
    # Anything else under /api/ answers the JSON envelope, never an HTML page.
    re_path(r"^api/", core_views.api_not_found),
]

if settings.BENCH_ROUTES:
    urlpatterns.insert(0, path("bench/", include("olympus.bench_urls")))

handler400 = "apps.core.views.handler400"
handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
