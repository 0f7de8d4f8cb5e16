"""The audit log: one PostgreSQL table partitioned by month on ``created_at``.

The table is created by SQL in ``migrations/0001_initial.py`` (``PARTITION BY
RANGE (created_at)`` with a DEFAULT partition so an insert never fails); Django
only knows the model state. In the database the primary key is
``(id, created_at)`` because a partitioned table's key must contain the
partition key; ``id`` alone is a random UUID and serves as Django's pk.
Changing a field therefore needs a hand-written migration (RunSQL on the
parent, which PostgreSQL propagates to every partition).
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from apps.core.ids import new_id

TABLE = "audit_auditlog"
DEFAULT_PARTITION = f"{TABLE}_default"


class AuditLog(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # No database foreign keys: audit rows outlive the users and organizations they mention.
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (…, created_at) indexes below lead with it
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (…, created_at) indexes below lead with it
        related_name="+",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=100)
    resource_type = models.CharField(max_length=100)
    resource_id = models.CharField(max_length=64, blank=True)
    old_values = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    new_values = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    # The outbox event this row was written for, so a redelivered event is recorded once.
    event_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        db_table = TABLE
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_created_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created_idx"),
            models.Index(fields=["resource_type", "resource_id"], name="audit_resource_idx"),
            models.Index(fields=["action"], name="audit_action_idx"),
            models.Index(fields=["-created_at"], name="audit_created_idx"),
        ]
        constraints = [
            # Includes the partition key, as PostgreSQL requires of unique indexes on partitioned tables.
            models.UniqueConstraint(
                fields=["event_id", "created_at"],
                condition=models.Q(event_id__isnull=False),
                name="audit_event_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.resource_type}:{self.resource_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
