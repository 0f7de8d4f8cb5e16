from django.urls import path

from apps.analytics.api import views

urlpatterns = [
    path(
        "organizations/<uuid:organization_pk>/analytics/daily/",
        views.DailyMetricsView.as_view(),
        name="analytics-daily",
    ),
    path(
        "organizations/<uuid:organization_pk>/analytics/summary/",
        views.SummaryView.as_view(),
        name="analytics-summary",
    ),
]
