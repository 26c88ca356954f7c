"""The ranking app's use-cases, one module per subject:

- `ranking`: building a for-you list. The first page of a scroll builds a *session*: the
  viewer's profile → candidate sources (~500) → one visibility-checked hydrate (`candidates`) →
  features (numpy) → model predictions → score → listwise re-rank → a frozen list of up to 200
  items in Redis, with each item's explain row (`explain`).
- `paging`: pages are slices of that list, re-checked against visibility, hides and reports
  when served, and marked seen, so a scroll never repeats or skips a post however many are
  posted meanwhile; when the list runs out the next page builds a new one without anything
  already seen. The teen daily limit. `nudges`: the creation nudge slotted into a page.
- `pool_log`: the candidate pool of a sample of sessions, kept for off-policy evaluation.
- `preferences`: steering and the personalisation switch.
- `embeddings` and `stats`: the background work that keeps ranking's inputs fresh (post
  embeddings, engagement counters, trending).

The names callers use are re-exported here (`from feed.ranking import services`).
"""

from feed.ranking.services.embeddings import post_embedding_compute, post_embeddings_backfill, post_embeddings_compute
from feed.ranking.services.explain import EXPLAIN_COLUMNS, Ranked, explain_data
from feed.ranking.services.paging import DailyLimit, ForYouPage, daily_limit_of, for_you_page
from feed.ranking.services.pool_log import pool_log_sampled, pool_log_write, pool_logs_prune
from feed.ranking.services.preferences import feed_preference_set, steering_clear, steering_embed, steering_set
from feed.ranking.services.ranking import for_you_rank, rank_candidates, viewer_profile_cached
from feed.ranking.services.stats import STATS_LAG, STATS_WATERMARK, post_stats_of, stats_refresh, trending_refresh

__all__ = [
    "EXPLAIN_COLUMNS",
    "STATS_LAG",
    "STATS_WATERMARK",
    "DailyLimit",
    "ForYouPage",
    "Ranked",
    "daily_limit_of",
    "explain_data",
    "feed_preference_set",
    "for_you_page",
    "for_you_rank",
    "pool_log_sampled",
    "pool_log_write",
    "pool_logs_prune",
    "post_embedding_compute",
    "post_embeddings_backfill",
    "post_embeddings_compute",
    "post_stats_of",
    "rank_candidates",
    "stats_refresh",
    "steering_clear",
    "steering_embed",
    "steering_set",
    "trending_refresh",
    "viewer_profile_cached",
]
