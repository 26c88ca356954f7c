"""Notifications, numbered per recipient so a reconnecting client can resume exactly."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationKind(models.TextChoices):
    CAMEO_USED = "cameo_used", "Your cameo was used"
    CAMEO_REQUEST = "cameo_request", "Someone asked to use your cameo"
    CAMEO_REQUEST_DECIDED = "cameo_request_decided", "Your cameo request was decided"
    CAMEO_APPEARANCE_REMOVED = "cameo_appearance_removed", "A cameo owner removed your video"
    CAMEO_VERIFICATION = "cameo_verification", "Cameo verification finished"
    POST_REMIXED = "post_remixed", "Your post was remixed"
    COMMENT = "comment", "Comment on your post"
    REPLY = "reply", "Reply to your comment"
    NEW_FOLLOWER = "new_follower", "New follower"
    LIKES = "likes", "Likes on your post"
    GENERATION_PROGRESS = "generation_progress", "Generation progress"
    GENERATION_COMPLETED = "generation_completed", "Generation completed"
    GENERATION_FAILED = "generation_failed", "Generation failed"
    MODERATION_DECISION = "moderation_decision", "Moderation decision"
    ROYALTY = "royalty", "Royalty earned"
    ACCOUNT_EXPORT_READY = "account_export_ready", "Your data export is ready"


class NotificationCounter(models.Model):
    """The last sequence number given to a recipient. Its row lock orders their notifications."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.last_seq}"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # Position in the recipient's stream; gap-free and committed in order (see services.notify).
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    # What the notification is about ("post", 42), so a takedown can hide it everywhere at once.
    target_type = models.CharField(max_length=30, blank=True, default="")
    target_id = models.BigIntegerField(null=True, blank=True)
    # Aggregation ("X and 12 others"): a newer row replaces the older one of the same group.
    group_key = models.CharField(max_length=100, blank=True, default="")
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    superseded = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "seq"], name="notification_recipient_seq")]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="notification_target_idx"),
            models.Index(
                fields=["recipient", "group_key"],
                name="notification_group_idx",
                condition=models.Q(superseded=False) & ~models.Q(group_key=""),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} → {self.recipient_id}: {self.text}"
