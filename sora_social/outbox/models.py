"""The transactional outbox: a Celery message that must not be lost is a row first.

The row commits in the same transaction as the state it is about (a job, a cameo, a post), so
a message exists exactly when its cause does. It is published right after commit; if the
broker is down then, the relay (a periodic task) publishes it once the broker is back.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    task = models.CharField(max_length=200)  # the Celery task name
    args = models.JSONField(default=list)
    queue = models.CharField(max_length=50)
    countdown_s = models.PositiveIntegerField(default=0)  # run no sooner than this after publishing
    created_at = models.DateTimeField(default=timezone.now)
    # A sender claims a row before publishing (so the on-commit send and the relay never both
    # send it) and marks it sent after; a claim older than the lease is a sender that died.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # The X-Request-Id of the request that caused the message: the task runs under it, so the
    # worker's log lines join the request's (common/metrics.py carries it in the headers).
    request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="outbox_unsent_idx", condition=Q(sent_at__isnull=True)),
            models.Index(fields=["sent_at"], name="outbox_sent_idx", condition=Q(sent_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task}{self.args} → {self.queue} ({'sent' if self.sent_at else 'pending'})"
