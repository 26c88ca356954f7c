"""Hydrating a session's candidates: the visibility rule and every feature column in one query."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
from psycopg.types.numeric import Int8

from feed.models import RemixPermission
from feed.ranking.features import CandidateBatch
from feed.ranking.selectors import ViewerProfile
from feed.selectors import id_array, prepared_cursor, visibility_sql
from sora_social.common.embeddings import EMBEDDING_DIM

# One round trip per session build: the candidates that pass the visibility rule (the same
# rule text as feed.selectors.visible_posts_q, evaluated as a column of a materialized CTE so
# PostgreSQL plans it as a sub-plan instead of searching join orders over its EXISTS terms),
# with their counters, embedding, the author's recent volume (counted up to VOLUME_CAP
# through the (author, created_at) index) and the owners of the cameos they feature.
# Prepared (feed.selectors.prepared_cursor): planned a few times per connection, not per build.
VOLUME_CAP = 30
_CANDIDATES_SQL = """
WITH checked AS MATERIALIZED (
    SELECT p.id, p.author_id, p.created_at, p.descendant_count, p.remix_permission, {visible} AS visible
    FROM unnest(%(ids)s::bigint[]) AS a(id) JOIN feed_post p ON p.id = a.id
    WHERE p.author_id <> %(viewer)s
),
cand AS (
    SELECT id, author_id, created_at, descendant_count, remix_permission FROM checked WHERE visible
),
volume AS (
    -- Index-only: (author_id, created_at) of post_author_idx, at most VOLUME_CAP entries each.
    SELECT a.author_id, (SELECT count(*) FROM (SELECT 1 FROM feed_post q
                         WHERE q.author_id = a.author_id AND q.created_at >= %(since)s LIMIT {cap}) recent) AS n
    FROM (SELECT DISTINCT author_id FROM cand) a
)
SELECT c.id, c.author_id, c.created_at, c.descendant_count, c.remix_permission,
       COALESCE(s.impressions, 0), COALESCE(s.views, 0), COALESCE(s.completion_sum, 0), COALESCE(s.likes, 0),
       COALESCE(s.remix_starts + s.remixes, 0), COALESCE(s.hides + s.reports, 0),
       e.vector, COALESCE(e.author_seq, 0), v.n,
       (SELECT array_agg(k.owner_id) FROM feed_postcameo pc JOIN cameos_cameo k ON k.id = pc.cameo_id
        WHERE pc.post_id = c.id)
FROM cand c
JOIN volume v ON v.author_id = c.author_id
LEFT JOIN ranking_poststats s ON s.post_id = c.id
LEFT JOIN ranking_postembedding e ON e.post_id = c.id
"""


@lru_cache(maxsize=1)
def _candidates_sql() -> str:
    return _CANDIDATES_SQL.format(cap=VOLUME_CAP, visible=visibility_sql(alias="p", viewer_id=0))


def candidate_batch(
    profile: ViewerProfile, candidate_ids: list[int], *, now: datetime
) -> tuple[list[int], CandidateBatch, np.ndarray]:
    """Hydrate candidates (the visibility rule and every column, one query) and fill the
    feature columns. Returns (kept ids, batch, days since the viewer last hid each author,
    +inf if never)."""
    rows: list[tuple] = []
    if candidate_ids:
        # The ids travel as one array parameter: an IN list of 500 literals costs more to plan.
        with prepared_cursor() as c:
            c.execute(
                _candidates_sql(),
                {"ids": id_array(candidate_ids), "viewer": Int8(profile.user_id), "since": now - timedelta(days=7)},
            )
            rows = c.fetchall()
    n = len(rows)
    # Column-wise: one list per column, then one numpy conversion each.
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(15)]
    (ids, authors, created, descendants, permissions, impressions, views, completion, likes, remix_events,
     negatives, raw_vectors, author_seq, volume, owner_lists) = columns  # fmt: skip
    friends, following, uid = profile.friends, profile.following, profile.user_id
    zero = bytes(2 * EMBEDDING_DIM)
    vectors = (
        np.frombuffer(b"".join(v if v is not None else zero for v in raw_vectors), dtype=np.float16)
        .reshape(n, EMBEDDING_DIM)
        .astype(np.float32)
    )
    owners = [o or () for o in owner_lists]
    batch = CandidateBatch(
        author_id=np.array(authors, dtype=np.int64),
        age_hours=np.array([(now - t).total_seconds() / 3600 for t in created], dtype=np.float64),
        is_friend=np.array([a in friends for a in authors], dtype=bool),
        is_follow=np.array([a in following for a in authors], dtype=bool),
        affinity=np.array([profile.affinity.get(a, 0.0) for a in authors], dtype=np.float64),
        cameo_me=np.array([uid in o for o in owners], dtype=bool),
        cameo_friend=np.array([any(x in friends for x in o) for o in owners], dtype=bool),
        descendant_count=np.array(descendants, dtype=np.float64),
        impressions=np.array(impressions, dtype=np.float64),
        views=np.array(views, dtype=np.float64),
        completion_sum=np.array(completion, dtype=np.float64),
        likes=np.array(likes, dtype=np.float64),
        remix_events=np.array(remix_events, dtype=np.float64),
        negatives=np.array(negatives, dtype=np.float64),
        author_volume_7d=np.array(volume, dtype=np.float64),
        remixable=np.array(
            [
                p == RemixPermission.ANYONE or (p == RemixPermission.FRIENDS and a in friends)
                for p, a in zip(permissions, authors, strict=True)
            ],
            dtype=bool,
        ),
        author_seq=np.array(author_seq, dtype=np.int64),
        vectors=vectors,
        viewer_create_rate=profile.create_rate,
        profile=profile.vector,
    )
    hidden_days = np.array([profile.hidden_author_days.get(a, np.inf) for a in authors], dtype=np.float64)
    return ids, batch, hidden_days
