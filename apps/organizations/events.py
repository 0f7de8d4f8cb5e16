"""Event types the organizations app publishes through the outbox (payloads carry ids only), and its handlers.

Emails hang off the outbox, so an invitation committed while Redis or the
worker is down is still mailed once they are back.
"""

from apps.core.events import event_handler
from apps.core.models import OutboxEvent
from apps.organizations import tasks

ORGANIZATION_CREATED = "organization.created"
ORGANIZATION_UPDATED = "organization.updated"
ORGANIZATION_DELETED = "organization.deleted"
ORGANIZATION_RESTORED = "organization.restored"
MEMBER_ADDED = "organization.member_added"
MEMBER_UPDATED = "organization.member_updated"
MEMBER_REMOVED = "organization.member_removed"
INVITATION_CREATED = "organization.invitation_created"
INVITATION_RESENT = "organization.invitation_resent"
INVITATION_REVOKED = "organization.invitation_revoked"
INVITATION_ACCEPTED = "organization.invitation_accepted"


@event_handler(INVITATION_CREATED)
@event_handler(INVITATION_RESENT)
def send_invitation_email_on_event(event: OutboxEvent) -> None:
    tasks.send_invitation_email.delay(event.payload["invitation_id"])
