"""Thin Celery tasks of the case layer (queue `default`)."""

from __future__ import annotations

import logging

from celery import shared_task

from moderation import services

logger = logging.getLogger(__name__)


@shared_task(name="moderation.banned_media_from_action", bind=True, acks_late=True, max_retries=3)
def banned_media_from_action(self, action_id: int) -> int:
    """Hash a removed video's frames onto the banned list. Idempotent (the list ignores
    hashes it has), and a no-op once the removal was reversed."""
    try:
        return services.banned_media_add_for_action(action_id=action_id)
    except OSError as exc:  # storage briefly unavailable: try again
        raise self.retry(exc=exc, countdown=30) from exc
