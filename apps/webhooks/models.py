"""Customer webhook endpoints, the deliveries fanned out to them and every attempt made.

A :class:`WebhookDelivery` is one event for one endpoint; its id is the
``webhook-id`` header, stable across retries and replays so receivers can
deduplicate. A delivery waits for its next try in ``next_attempt_at`` (a beat
sweep enqueues the due ones), never in a Celery countdown.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from apps.core.models import BaseModel


class WebhookEndpoint(BaseModel):
    """A URL of a tenant that receives signed events; disabled after a 410 or too many dead letters."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # Empty: every event type. Entries are exact types ("order.created") or prefixes ("order.*").
    event_types = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    # "whsec_" + base64 of random bytes; the HMAC key of both signature schemes.
    secret = models.CharField(max_length=128, editable=False)
    # After a rotation the previous secret signs too, until previous_secret_expires_at.
    previous_secret = models.CharField(max_length=128, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    # Dead-lettered deliveries in a row; reset by a delivered one.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "is_active"], name="webhook_endpoint_active_idx")]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        if not self.event_types:
            return True
        for pattern in self.event_types:
            if pattern in {"*", event_type}:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False

    def signing_secrets(self, *, now=None) -> list[str]:
        """The current secret first, then the previous one while its grace period lasts."""
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(BaseModel):
    """One event for one endpoint: pending until delivered or dead-lettered (status ``failed``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (dead letter)"

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The outbox event delivered (null for a ping).
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=100)
    # The JSON body sent, fixed at fan-out so every retry sends the same bytes.
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current round (a replay starts a new round); the history is in attempts.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # When a task for it was last queued: the sweep does not queue it again for a while.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # Fan-out runs at least once: one delivery per event and endpoint, whatever the repeats.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"],
                condition=models.Q(event_id__isnull=False),
                name="webhook_delivery_event_once",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "succeeded", "failed"]), name="webhook_delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due_idx", condition=models.Q(status="pending")
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint_idx"),
            models.Index(fields=["endpoint", "status", "created_at"], name="webhook_delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery and what came back (or why nothing did).

    The row is written before the request goes out (``sending``) and closed
    after it (``finished``); one still ``sending`` when the delivery is claimed
    again was cut off (worker killed mid-request) and becomes ``interrupted``.
    """

    class State(models.TextChoices):
        SENDING = "sending", "sending"
        FINISHED = "finished", "finished"
        INTERRUPTED = "interrupted", "interrupted"

    id = models.BigAutoField(primary_key=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.FINISHED)
    finished_at = models.DateTimeField(null=True, blank=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    url = models.URLField(max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=1000, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["delivery", "created_at"], name="webhook_attempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.created_at:%Y-%m-%d %H:%M:%S} → {self.status_code or self.error}"
