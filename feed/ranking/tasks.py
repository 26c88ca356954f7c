"""Celery tasks of the ranking app: thin and idempotent, on the `default` queue.

Periodic ones are declared in sora_social/periodic.py: stats_refresh (every minute),
trending_refresh (every 5 minutes), embeddings_backfill (every 2 minutes), pool_logs_prune
(daily).
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from feed.ranking import services


@shared_task(
    name="ranking.post_embedding_compute", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3
)
def post_embedding_compute_task(post_id: int) -> int:
    """Feed enqueues this on commit of post_create (see docs/ranking.md)."""
    return services.post_embedding_compute(post_id=post_id)


@shared_task(name="ranking.embeddings_backfill")
def embeddings_backfill_task(batch: int = 256) -> int:
    return services.post_embeddings_backfill(batch=batch)


@shared_task(name="ranking.stats_refresh")
def stats_refresh_task() -> int:
    return services.stats_refresh()


@shared_task(name="ranking.trending_refresh")
def trending_refresh_task() -> int:
    return services.trending_refresh()


@shared_task(name="ranking.steering_embed", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def steering_embed_task(user_id: int) -> bool:
    # Steering acts through post embeddings: catch up on posts not embedded yet first, so
    # "applied" means it already applies to everything recent.
    services.post_embeddings_backfill(batch=256)
    return services.steering_embed(user_id=user_id) is not None


@shared_task(name="ranking.pool_logs_prune")
def pool_logs_prune_task() -> int:
    return services.pool_logs_prune()
