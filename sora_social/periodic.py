"""Every periodic (Celery beat) task of the project, declared in one place.

Imported by settings (as CELERY_BEAT_SCHEDULE), so it reads the environment directly. Every
period can be shortened through the environment (the tests that run the real beat do).
"""

import os

from celery.schedules import crontab

CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Jobs whose worker died are retried or failed (and refunded) within about this long.
    "reap-generation-jobs": {
        "task": "generation.tasks.generation_jobs_reap",
        "schedule": float(os.environ.get("GENERATION_REAPER_EVERY_S", "30")),
    },
    # Messages whose on-commit publish failed (broker down) are sent once it answers again.
    "outbox-relay": {"task": "outbox.relay", "schedule": float(os.environ.get("OUTBOX_RELAY_EVERY_S", "5"))},
    # Every new video's frames are hashed through the outbox; this indexes anything older.
    "video-frames-backfill": {
        "task": "generation.video_frames_backfill",
        "schedule": float(os.environ.get("VIDEO_FRAMES_BACKFILL_EVERY_S", "600")),
    },
    # Webhook deliveries whose (delayed) message was lost are sent again once overdue.
    "webhook-deliveries-sweep": {
        "task": "webhooks.deliveries_sweep",
        "schedule": float(os.environ.get("WEBHOOK_SWEEP_EVERY_S", "60")),
    },
    "purge-expired-tokens": {
        "task": "users.tokens_purge_expired",
        "schedule": crontab(minute=17, hour=3),
    },
    # Data exports are downloadable for 7 days; then their archives are erased.
    "purge-expired-account-exports": {
        "task": "users.account_exports_purge_expired",
        "schedule": crontab(minute=27, hour=3),
    },
    # Idempotency-Key records are kept IDEMPOTENCY_KEY_TTL_S (a day); then a retry is a new request.
    "purge-expired-idempotency-records": {
        "task": "idempotency.records_purge_expired",
        "schedule": crontab(minute=37),
    },
    # Feed ranking (feed/ranking/tasks.py)
    "ranking-stats-refresh": {
        "task": "ranking.stats_refresh",
        "schedule": float(os.environ.get("RANKING_STATS_EVERY_S", "60")),
    },
    "ranking-trending-refresh": {
        "task": "ranking.trending_refresh",
        "schedule": float(os.environ.get("RANKING_TRENDING_EVERY_S", "300")),
    },
    # Sampled for-you pools (off-policy evaluation) are kept FEED_POOL_LOG_DAYS.
    "ranking-pool-logs-prune": {"task": "ranking.pool_logs_prune", "schedule": crontab(minute=47, hour=3)},
    # post_create enqueues each embedding through the outbox; this also embeds anything older.
    "ranking-embeddings-backfill": {
        "task": "ranking.embeddings_backfill",
        "schedule": float(os.environ.get("RANKING_EMBEDDINGS_EVERY_S", "300")),
    },
}
