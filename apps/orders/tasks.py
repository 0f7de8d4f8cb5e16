import smtplib

from celery import shared_task


# Routed to the emails queue (olympus/celery.py), with the other emails.
@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError))
def send_order_email(order_id: str, kind: str) -> bool:
    """Email the customer about their order (confirmed, shipped, cancelled); a no-op once sent."""
    from apps.orders import services

    return services.order_email_send(order_id=order_id, kind=kind)


# Beat runs it hourly (olympus/settings/base.py); each run is one pass over the counters.
@shared_task
def order_usage_reconcile() -> int:
    """Bring every organization's monthly order counter back to the orders table; returns how many were fixed."""
    from apps.orders import services

    return services.order_usage_reconcile()


@shared_task(acks_late=True)
def orders_payment_timeout_sweep() -> int:
    """Beat: cancel pending orders left unpaid past ORDER_PAYMENT_TIMEOUT (stock back once); safe to run twice."""
    from apps.orders import services

    return services.orders_payment_timeout_sweep()
