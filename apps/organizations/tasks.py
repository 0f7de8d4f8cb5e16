import smtplib

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(smtplib.SMTPException, OSError))
def send_invitation_email(invitation_id: str) -> bool:
    """Email an invitation with a fresh token; a no-op once it is accepted, revoked or expired."""
    from apps.organizations import services

    return services.invitation_send(invitation_id=invitation_id) is not None
