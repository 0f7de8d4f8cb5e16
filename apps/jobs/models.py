from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from apps.core.models import BaseModel


class FailedTask(BaseModel):
    """A Celery task that failed for good (its retries exhausted): the dead letter, replayable from the admin."""

    class Status(models.TextChoices):
        FAILED = "failed", "Failed"
        RETRIED = "retried", "Retried"

    task_id = models.CharField(max_length=255, unique=True)
    task_name = models.CharField(max_length=255, db_index=True)
    queue = models.CharField(max_length=100, blank=True)
    args = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    exception = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FAILED)
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_task_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-last_failed_at"]
        indexes = [models.Index(fields=["status", "-last_failed_at"], name="jobs_failedtask_status_idx")]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.task_id}] ({self.status})"


class WeeklySummary(BaseModel):
    """One weekly summary email per organization and week: the row makes the job safe to run twice."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-week_start"]
        verbose_name_plural = "weekly summaries"
        constraints = [
            models.UniqueConstraint(fields=["organization", "week_start"], name="jobs_weekly_summary_once"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} week of {self.week_start}"
