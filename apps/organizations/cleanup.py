"""Cleanup: invitations that can no longer be used (expired or revoked) past ``INVITATION_RETENTION_DAYS``."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.jobs.housekeeping import cleanup_step
from apps.organizations.models import Invitation


@cleanup_step("organizations.dead_invitations")
def dead_invitations() -> int:
    cutoff = timezone.now() - timedelta(days=settings.INVITATION_RETENTION_DAYS)
    # Accepted invitations stay: they record how a member joined (the audit log has the rest).
    dead = Q(accepted_at__isnull=True) & (Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff))
    return Invitation.objects.filter(dead).delete()[0]
