import smtplib

from celery import shared_task

from apps.orders import services


# Mail goes to the emails queue with the other emails (the orders queue keeps order work).
@shared_task(acks_late=True, queue="emails", autoretry_for=(smtplib.SMTPException, OSError))
def send_order_email(order_id: str, kind: str) -> bool:
    """Email the customer about their order (confirmed, shipped, cancelled); a no-op once sent."""
    return services.order_email_send(order_id=order_id, kind=kind)
