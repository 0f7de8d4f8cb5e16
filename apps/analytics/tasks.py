from celery import shared_task


@shared_task(acks_late=True)
def refresh_daily_metrics() -> dict[str, float] | None:
    """Beat (every ANALYTICS_REFRESH_SECONDS, 15 min): refresh the views concurrently (safe to run twice)."""
    from apps.analytics import services

    return services.analytics_refresh()
