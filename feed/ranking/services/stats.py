"""The counters ranking reads, folded from the engagement log, and the trending list."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from feed.ranking import sources
from feed.ranking.models import PostStats, Watermark
from feed.ranking.selectors import cfg

STATS_FOLD_SQL = """
INSERT INTO ranking_poststats
    (post_id, impressions, views, completion_sum, watch_ms_sum, likes, comments, shares,
     remix_starts, remixes, hides, reports, updated_at)
SELECT e.post_id,
       count(*) FILTER (WHERE e.type = 1),
       count(*) FILTER (WHERE e.type = 2),
       COALESCE(sum(e.completion) FILTER (WHERE e.type = 2), 0),
       COALESCE(sum(e.watch_ms) FILTER (WHERE e.type = 2), 0),
       count(*) FILTER (WHERE e.type = 3),
       count(*) FILTER (WHERE e.type = 4),
       count(*) FILTER (WHERE e.type = 5),
       count(*) FILTER (WHERE e.type = 6),
       count(*) FILTER (WHERE e.type = 7),
       count(*) FILTER (WHERE e.type = 8),
       count(*) FILTER (WHERE e.type = 9),
       %(now)s
FROM feed_engagementevent e
WHERE e.received_at > %(lo)s AND e.received_at <= %(hi)s
  AND EXISTS (SELECT 1 FROM feed_post p WHERE p.id = e.post_id)
GROUP BY e.post_id
ON CONFLICT (post_id) DO UPDATE SET
    impressions = ranking_poststats.impressions + EXCLUDED.impressions,
    views = ranking_poststats.views + EXCLUDED.views,
    completion_sum = ranking_poststats.completion_sum + EXCLUDED.completion_sum,
    watch_ms_sum = ranking_poststats.watch_ms_sum + EXCLUDED.watch_ms_sum,
    likes = ranking_poststats.likes + EXCLUDED.likes,
    comments = ranking_poststats.comments + EXCLUDED.comments,
    shares = ranking_poststats.shares + EXCLUDED.shares,
    remix_starts = ranking_poststats.remix_starts + EXCLUDED.remix_starts,
    remixes = ranking_poststats.remixes + EXCLUDED.remixes,
    hides = ranking_poststats.hides + EXCLUDED.hides,
    reports = ranking_poststats.reports + EXCLUDED.reports,
    updated_at = EXCLUDED.updated_at
"""
REPORTS_FOLD_SQL = """
INSERT INTO ranking_reportedpost (user_id, post_id, reported_at)
SELECT e.user_id, e.post_id, min(e.received_at)
FROM feed_engagementevent e
WHERE e.received_at > %(lo)s AND e.received_at <= %(hi)s AND e.type = 9
  AND EXISTS (SELECT 1 FROM feed_post p WHERE p.id = e.post_id)
GROUP BY e.user_id, e.post_id
ON CONFLICT DO NOTHING
"""
STATS_WATERMARK = "post_stats"
# Events are stamped before their transaction commits; reading only up to `now - lag` means a
# slow insert is still counted (in the next run) instead of being passed over.
STATS_LAG = timedelta(seconds=30)


@transaction.atomic
def stats_refresh(*, now: datetime | None = None) -> int:
    """Fold the events received since the last run into PostStats (and reports into
    ReportedPost). Returns the number of posts touched."""
    now = now or timezone.now()
    mark, _ = Watermark.objects.select_for_update().get_or_create(
        name=STATS_WATERMARK, defaults={"at": datetime(2000, 1, 1, tzinfo=now.tzinfo)}
    )
    upper = now - STATS_LAG
    if upper <= mark.at:
        return 0
    with connection.cursor() as c:
        c.execute(STATS_FOLD_SQL, {"lo": mark.at, "hi": upper, "now": now})
        touched = c.rowcount
        c.execute(REPORTS_FOLD_SQL, {"lo": mark.at, "hi": upper})
    mark.at = upper
    mark.save(update_fields=["at"])
    return touched


def trending_refresh(*, now: datetime | None = None) -> int:
    from django.core.cache import cache

    now = now or timezone.now()
    ids = sources.trending_compute(now=now, size=cfg()["TRENDING_SIZE"])
    cache.set(sources.trending_cache_key(), ids, cfg()["TRENDING_TTL_S"])
    return len(ids)


def post_stats_of(post_id: int) -> PostStats | None:
    return PostStats.objects.filter(post_id=post_id).first()
