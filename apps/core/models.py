from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from apps.core import tracing
from apps.core.ids import new_id


class BaseModel(models.Model):
    """UUID primary key and creation/update times for every Olympus model."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OutboxEvent(BaseModel):
    """A business event written in the same transaction as the change that caused it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DISPATCHED = "dispatched", "Dispatched"
        FAILED = "failed", "Failed (dead letter)"

    event_type = models.CharField(max_length=100, db_index=True)
    # A plain UUID: core must not depend on the organizations app.
    organization_id = models.UUIDField(null=True, blank=True, db_index=True)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The W3C trace context of the transaction that wrote the event ({} with tracing off); the
    # relay continues that trace, so a request and everything it causes are one trace.
    trace_context = models.JSONField(default=tracing.carrier, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id} ({self.status})"


class IdempotencyKey(BaseModel):
    """The first response to a POST sent with an ``Idempotency-Key`` (see ``apps/core/idempotency.py``).

    One row per (user, key, endpoint); the unique constraint is what makes two
    concurrent requests with one key wait for each other.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # JSON text, not jsonb: a replay must be the first response byte for byte (jsonb reorders keys).
    response_body = models.TextField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "endpoint"], name="core_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key!r} ({self.response_status or 'in progress'})"
