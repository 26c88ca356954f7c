"""API keys for apps: long-lived bearer secrets (`sk-…`) with scopes and a quota of their own.

A key belongs to a person (its owner creates, lists and revokes it), but what an app does with
it is budgeted apart from the person: generations submitted with a key are charged to the key's
daily credits (generation's ledger, pool `app`) and counted against the key's jobs in flight,
never against the owner's free credits. Quotas come from the key's plan
(settings.API_KEY_PLANS) unless staff set a number on the key itself.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.timezone import now


class ApiKeyScope(models.TextChoices):
    VIDEOS = "videos", "Generate and fetch videos (/v1/videos, /api/v1/generations)"
    SOCIAL = "social", "Everything a person does in the app (posts, feed, cameos, follows, …)"
    ALL = "all", "Both"


class ApiKey(models.Model):
    """Only a SHA-256 digest of the secret is stored (like AuthToken); `prefix` tells keys apart."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    scopes = ArrayField(models.CharField(max_length=10, choices=ApiKeyScope.choices), size=3)
    plan = models.CharField(max_length=30, default="standard")
    # Set by staff only; null = the plan's number.
    daily_credits = models.PositiveIntegerField(null=True, blank=True)
    max_in_flight = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # null = until revoked
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="apikey_user_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(scopes=[]), name="apikey_has_a_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name} ({self.user_id})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now())

    def allows(self, scope: str) -> bool:
        return ApiKeyScope.ALL in self.scopes or scope in self.scopes
