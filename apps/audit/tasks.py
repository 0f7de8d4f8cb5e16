from celery import shared_task


@shared_task(acks_late=True)
def audit_partitions_maintain() -> dict:
    """Beat, daily: partitions ahead, strays out of DEFAULT, expired months dropped."""
    from apps.audit import services

    report = services.audit_partitions_maintain()
    return {
        "created": report.created,
        "dropped": report.dropped,
        "moved_rows": report.moved_rows,
        "expired_default_rows": report.expired_default_rows,
    }
