"""Webhook endpoints an app registers, and the log of what was sent to each."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    """Where an app wants its owner's events POSTed, signed with `secret` (Standard Webhooks).

    The secret is kept in the clear: signing needs it (as every webhook sender does); it is shown
    to its owner when made and when rotated, and only its first characters afterwards."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    secret = models.CharField(max_length=80)
    # Event types this endpoint receives (webhooks.events.ALL_EVENTS); empty = all of them.
    events = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="webhook_endpoint_user_idx")]

    def __str__(self) -> str:
        return f"webhook {self.pk} of {self.user_id} -> {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first or next attempt
    SUCCEEDED = "succeeded", "Succeeded"  # the receiver answered 2xx
    FAILED = "failed", "Failed"  # every attempt failed


class WebhookDelivery(models.Model):
    """One event for one endpoint: the body sent (the same on every attempt, with the same
    `webhook-id`), and how each attempt went (`attempt_log`). The app reads these as its log."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, default=new_event_id)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # [{"at", "status_code", "error", "duration_ms"}], oldest first
    attempt_log = models.JSONField(default=list, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # When the next attempt is due; while an attempt runs, when its lease runs out.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"),
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint_idx"),
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due_idx", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> endpoint {self.endpoint_id} ({self.status})"
