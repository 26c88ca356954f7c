"""The ranker's training set, read from the engagement log (joined to posts, the graph and
the embeddings). Used by `manage.py train_ranker`.

One row per (viewer, post) the viewer was shown (an impression) in the window, for a sample
of viewers (user_id mod N), with the outcomes: remixed it (remix_started/posted), created a
post within an hour after seeing it, liked it, hid or reported it, seconds watched.

Features are computed with `features.feature_matrix`, the request path's own function, from
the state the log and the database give. What is reconstructed "as of" the impression: the
post's age, the author's posting volume in the 7 days before, and the viewer's own outcome
is taken out of every counter that includes it (the post's impressions, likes, remixes,
hides; the viewer's affinity to the author; the viewer's taste vector), so no row sees its
own label. What is not: follows and the post's other engagement are read as they are now.

Off-policy evaluation also asks for the features of pairs nobody was shown: the candidates of a
logged pool (ranking.PoolLog), as of the time the list was built (`candidates`). They are
computed by the same code from the same log rows, the viewer's own outcome (if the pair was
shown) taken out like a shown row's, so a shown candidate and one left in the pool are scored
alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction

from feed.ranking.features import CandidateBatch, feature_matrix, viewer_create_rate
from feed.ranking.selectors import AFFINITY_VIEW, PROFILE_WEIGHTS
from feed.ranking.train import TrainingSet
from sora_social.common.embeddings import EMBEDDING_DIM

CREATE_WITHIN = timedelta(hours=1)

_PAIRS_SQL = """
SELECT e.user_id, e.post_id,
       min(e.occurred_at) FILTER (WHERE e.type = 1),
       count(*) FILTER (WHERE e.type IN (6, 7)),
       count(*) FILTER (WHERE e.type = 3),
       count(*) FILTER (WHERE e.type IN (8, 9)),
       count(*) FILTER (WHERE e.type IN (4, 5)),
       count(*) FILTER (WHERE e.type = 2),
       COALESCE(max(e.watch_ms) FILTER (WHERE e.type = 2), 0),
       COALESCE(max(e.completion) FILTER (WHERE e.type = 2), 0),
       max(e.propensity) FILTER (WHERE e.type = 1 AND e.surface = 1),
       min(e.position) FILTER (WHERE e.type = 1 AND e.surface = 1),
       min(e.occurred_at) FILTER (WHERE e.type = 1 AND e.surface = 1 AND e.propensity IS NOT NULL)
FROM feed_engagementevent e
WHERE e.received_at >= %(since)s AND e.user_id %% %(mod)s = 0
GROUP BY e.user_id, e.post_id
HAVING count(*) FILTER (WHERE e.type = 1) > 0 {having}
LIMIT %(max)s
"""
# Off-policy evaluation reads only for-you impressions that carry the probability they were shown with.
_LOGGED_HAVING = "AND max(e.propensity) FILTER (WHERE e.type = 1 AND e.surface = 1) IS NOT NULL"

_POSTS_SQL = """
SELECT p.id, p.author_id, extract(epoch FROM p.created_at), p.descendant_count, p.remix_permission,
       COALESCE(s.impressions, 0), COALESCE(s.views, 0), COALESCE(s.completion_sum, 0), COALESCE(s.likes, 0),
       COALESCE(s.remix_starts + s.remixes, 0), COALESCE(s.hides + s.reports, 0),
       e.vector, COALESCE(e.author_seq, 0)
FROM feed_post p
LEFT JOIN ranking_poststats s ON s.post_id = p.id
LEFT JOIN ranking_postembedding e ON e.post_id = p.id
WHERE p.id = ANY(%(ids)s)
"""


def _membership(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    codes = np.sort(codes)
    if len(codes) == 0:
        return np.zeros(len(query), dtype=bool)
    pos = np.minimum(np.searchsorted(codes, query), len(codes) - 1)
    return codes[pos] == query


def _count_in_window(keys: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For sorted `keys`, how many fall in (lo, hi] per row."""
    return np.searchsorted(keys, hi, side="right") - np.searchsorted(keys, lo, side="right")


def training_set(
    *,
    now: datetime,
    days: int = 14,
    user_mod: int = 4,
    max_rows: int = 300_000,
    logged_only: bool = False,
    say: Callable[[str], None] = lambda _m: None,
) -> TrainingSet:
    """The rows, and in `extra` each row's viewer, post, and (for-you impressions) the logged
    propensity, position and time of the impression that carried it. `logged_only`: only
    for-you impressions with a propensity."""
    return _rows(now=now, days=days, user_mod=user_mod, max_rows=max_rows, logged_only=logged_only, say=say)[0]


def logged_set_with_candidates(
    *,
    now: datetime,
    days: int,
    candidates: tuple[np.ndarray, np.ndarray, np.ndarray],
    max_rows: int = 500_000,
    say: Callable[[str], None] = lambda _m: None,
) -> tuple[TrainingSet, np.ndarray, np.ndarray]:
    """The for-you impressions with a propensity (as `training_set(logged_only=True)`, every
    viewer), and the features of `candidates`, (viewer, post, epoch seconds) pairs
    featurised as of that time (see the module's docstring): (rows, candidate features for the
    pairs whose post still exists, that mask over `candidates`)."""
    return _rows(now=now, days=days, user_mod=1, max_rows=max_rows, logged_only=True, candidates=candidates, say=say)


@transaction.atomic
def _rows(
    *,
    now: datetime,
    days: int,
    user_mod: int,
    max_rows: int,
    logged_only: bool,
    candidates: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    say: Callable[[str], None],
) -> tuple[TrainingSet, np.ndarray, np.ndarray]:
    n_cand = 0 if candidates is None else len(candidates[0])
    since = now - timedelta(days=days)
    with connection.cursor() as c:
        c.execute("SET LOCAL work_mem = '256MB'")
        c.execute(
            _PAIRS_SQL.format(having=_LOGGED_HAVING if logged_only else ""),
            {"since": since, "mod": user_mod, "max": max_rows},
        )
        pairs = c.fetchall()
    if not pairs:
        empty = np.zeros(0)
        rows = TrainingSet(
            np.zeros((0, 16), np.float32),
            np.zeros((0, 4), np.float32),
            empty,
            np.zeros(0, bool),
            empty,
            extra={"viewer": empty, "post": empty, "propensity": empty, "position": empty, "logged_at": empty},
        )
        return rows, np.zeros((0, 16), np.float32), np.zeros(n_cand, dtype=bool)
    say(f"{len(pairs):,} (viewer, post) impressions")
    viewer = np.array([r[0] for r in pairs], dtype=np.int64)
    post = np.array([r[1] for r in pairs], dtype=np.int64)
    shown = np.array([r[2].timestamp() for r in pairs])
    remix_n = np.array([r[3] for r in pairs], dtype=np.float64)
    like_n = np.array([r[4] for r in pairs], dtype=np.float64)
    neg_n = np.array([r[5] for r in pairs], dtype=np.float64)
    engaged_n = np.array([r[6] for r in pairs], dtype=np.float64)
    view_n = np.array([r[7] for r in pairs], dtype=np.float64)
    watch_ms = np.array([r[8] for r in pairs], dtype=np.float64)
    completion = np.array([r[9] for r in pairs], dtype=np.float64)
    propensity = np.array([np.nan if r[10] is None else r[10] for r in pairs], dtype=np.float64)
    position = np.array([-1 if r[11] is None else r[11] for r in pairs], dtype=np.int64)
    # When the impression that carried the propensity was shown (the pair may have others before).
    logged_at = np.array([np.nan if r[12] is None else r[12].timestamp() for r in pairs], dtype=np.float64)
    n_log = len(viewer)
    is_log = np.ones(n_log, dtype=bool)  # a row of the log (not a pool candidate)
    impressed = np.ones(n_log, dtype=bool)  # the viewer was shown the post (its own outcome is in the counters)
    if candidates is not None:
        cv, cp, ct = (np.asarray(a) for a in candidates)
        cv, cp = cv.astype(np.int64), cp.astype(np.int64)
        # A candidate the viewer was shown carries that row's outcome, to be taken out alike.
        wide = np.int64(1 << 32)
        log_keys = viewer * wide + post
        by_key = np.argsort(log_keys, kind="stable")
        at_key = np.minimum(np.searchsorted(log_keys[by_key], cv * wide + cp), max(n_log - 1, 0))
        src = by_key[at_key]
        found = log_keys[src] == cv * wide + cp

        def _copied(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a, np.where(found, a[src], 0).astype(a.dtype)])

        remix_n, like_n, neg_n, engaged_n = _copied(remix_n), _copied(like_n), _copied(neg_n), _copied(engaged_n)
        view_n, watch_ms, completion = _copied(view_n), _copied(watch_ms), _copied(completion)
        viewer, post = np.concatenate([viewer, cv]), np.concatenate([post, cp])
        shown = np.concatenate([shown, ct.astype(np.float64)])
        propensity = np.concatenate([propensity, np.full(len(cv), np.nan)])
        logged_at = np.concatenate([logged_at, np.full(len(cv), np.nan)])
        position = np.concatenate([position, np.full(len(cv), -1, dtype=np.int64)])
        is_log = np.concatenate([is_log, np.zeros(len(cv), dtype=bool)])
        impressed = np.concatenate([impressed, found])

    post_ids = np.unique(post)
    with connection.cursor() as c:
        c.execute(_POSTS_SQL, {"ids": post_ids.tolist()})
        rows = c.fetchall()
    info = {r[0]: r for r in rows}
    keep = np.array([p in info for p in post.tolist()])
    candidate_kept = keep[n_log:]
    if not keep.all():
        viewer, post, shown = viewer[keep], post[keep], shown[keep]
        remix_n, like_n, neg_n, engaged_n = remix_n[keep], like_n[keep], neg_n[keep], engaged_n[keep]
        view_n, watch_ms, completion = view_n[keep], watch_ms[keep], completion[keep]
        propensity, position, logged_at = propensity[keep], position[keep], logged_at[keep]
        is_log, impressed = is_log[keep], impressed[keep]
    names = ["id", "author", "t", "desc", "perm", "imp", "views", "comp", "likes", "rmx", "neg"]
    col = {name: i for i, name in enumerate(names)}
    table = np.array([[r[col[k]] if k != "perm" else 0 for k in col] for r in rows], dtype=np.float64)
    index = {r[0]: i for i, r in enumerate(rows)}
    at = np.array([index[p] for p in post.tolist()])
    author = table[at, col["author"]].astype(np.int64)
    perm = np.array([rows[i][4] for i in at.tolist()])
    vectors_by_post = np.zeros((len(rows), EMBEDDING_DIM), dtype=np.float32)
    seq_by_post = np.zeros(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        if r[11] is not None:
            vectors_by_post[i] = np.frombuffer(r[11], dtype=np.float16)
        seq_by_post[i] = r[12]
    vectors = vectors_by_post[at]
    say(f"{len(rows):,} posts")

    viewers = np.unique(viewer)
    with connection.cursor() as c:
        c.execute("SELECT follower_id, followee_id FROM users_follow WHERE follower_id = ANY(%s)", [viewers.tolist()])
        out_edges = np.array(c.fetchall(), dtype=np.int64).reshape(-1, 2)
        c.execute("SELECT follower_id, followee_id FROM users_follow WHERE followee_id = ANY(%s)", [viewers.tolist()])
        in_edges = np.array(c.fetchall(), dtype=np.int64).reshape(-1, 2)
        c.execute(
            "SELECT pc.post_id, k.owner_id FROM feed_postcameo pc JOIN cameos_cameo k ON k.id = pc.cameo_id "
            "WHERE pc.post_id = ANY(%s)",
            [post_ids.tolist()],
        )
        cameo_rows = c.fetchall()
        c.execute(
            "SELECT p.author_id, extract(epoch FROM p.created_at), e.vector FROM feed_post p "
            "LEFT JOIN ranking_postembedding e ON e.post_id = p.id WHERE p.author_id = ANY(%s) AND p.created_at >= %s",
            [viewers.tolist(), since - timedelta(days=30)],
        )
        own = c.fetchall()
        authors = np.unique(author)
        c.execute(
            "SELECT author_id, extract(epoch FROM created_at) FROM feed_post WHERE author_id = ANY(%s) "
            "AND created_at >= %s",
            [authors.tolist(), since - timedelta(days=7)],
        )
        author_posts = np.array(c.fetchall(), dtype=np.float64).reshape(-1, 2)
    big = np.int64(1 << 32)
    follows = _membership(out_edges[:, 0] * big + out_edges[:, 1], viewer * big + author)
    followed_back = _membership(in_edges[:, 0] * big + in_edges[:, 1], author * big + viewer)
    friend = follows & followed_back

    owners: dict[int, list[int]] = {}
    for pid, owner in cameo_rows:
        owners.setdefault(pid, []).append(owner)
    cameo_me = np.array([v in owners.get(p, ()) for v, p in zip(viewer.tolist(), post.tolist(), strict=True)])
    out_codes = out_edges[:, 0] * big + out_edges[:, 1]  # viewer -> x
    back_codes = in_edges[:, 1] * big + in_edges[:, 0]  # viewer <- x, written viewer*big + x
    friend_codes = np.sort(out_codes[_membership(back_codes, out_codes)])
    cameo_friend = np.array(
        [
            bool(others) and bool(_membership(friend_codes, v * big + np.array(others, dtype=np.int64)).any())
            for v, others in (
                (v, [o for o in owners.get(p, ()) if o != v])
                for v, p in zip(viewer.tolist(), post.tolist(), strict=True)
            )
        ]
    )

    # Created a post within an hour after the impression (the "create after viewing" label).
    own_author = np.array([r[0] for r in own], dtype=np.int64)
    own_t = np.array([float(r[1]) for r in own], dtype=np.float64)
    scale = 1e10
    own_keys = np.sort(own_author * scale + own_t)
    key = viewer * scale + shown
    created = _count_in_window(own_keys, key, key + CREATE_WITHIN.total_seconds()) > 0
    posts_30d = _count_in_window(own_keys, key - 30 * 86400, key)

    # The author's posts in the 7 days before the impression, capped as the request path caps.
    a_keys = np.sort(author_posts[:, 0] * scale + author_posts[:, 1])
    akey = author * scale + shown
    volume = np.minimum(_count_in_window(a_keys, akey - 7 * 86400, akey), 30)

    # Affinity viewer → author and the viewer's taste vector, each without this row's own outcome.
    watched = completion >= 0.5
    weight = 2.0 * like_n.clip(0, 1) + 3.0 * engaged_n.clip(0, 1) + 4.5 * remix_n.clip(0, 1) + AFFINITY_VIEW * watched
    pair_key = viewer * big + author
    _, inv = np.unique(pair_key, return_inverse=True)
    # Sums over the log's rows only (a candidate row adds nothing), less the row's own outcome.
    affinity = np.bincount(inv, weights=weight * is_log)[inv] - weight
    pvec_w = (
        PROFILE_WEIGHTS["like"] * like_n.clip(0, 1)
        + PROFILE_WEIGHTS["remix"] * remix_n.clip(0, 1)
        + PROFILE_WEIGHTS["view"] * watched
    )
    vu, vinv = np.unique(viewer, return_inverse=True)
    sums = np.zeros((len(vu), EMBEDDING_DIM), dtype=np.float64)
    np.add.at(sums, vinv, vectors * (pvec_w * is_log)[:, None])
    own_vinv = np.searchsorted(vu, own_author)
    own_ok = (own_vinv < len(vu)) & (vu[np.minimum(own_vinv, len(vu) - 1)] == own_author)
    for i in np.flatnonzero(own_ok).tolist():
        if own[i][2] is not None:
            sums[own_vinv[i]] += PROFILE_WEIGHTS["own"] * np.frombuffer(own[i][2], dtype=np.float16)
    profile = sums[vinv] - vectors * pvec_w[:, None]
    norm = np.linalg.norm(profile, axis=1)
    topic_sim = np.where(norm > 0, (profile * vectors).sum(axis=1) / np.maximum(norm, 1e-9), 0.0)
    views_per_viewer = np.bincount(vinv, weights=view_n.clip(0, 1) * is_log)[vinv]
    create_rate = np.array(
        [viewer_create_rate(int(p), int(v)) for p, v in zip(posts_30d.tolist(), views_per_viewer.tolist(), strict=True)]
    )

    t = table[at]
    batch = CandidateBatch(
        author_id=author,
        age_hours=(shown - t[:, col["t"]]) / 3600,
        is_friend=friend,
        is_follow=follows,
        affinity=affinity,
        cameo_me=cameo_me,
        cameo_friend=cameo_friend,
        descendant_count=np.maximum(t[:, col["desc"]] - (remix_n > 0), 0),
        impressions=np.maximum(t[:, col["imp"]] - impressed, 0),
        views=np.maximum(t[:, col["views"]] - view_n, 0),
        completion_sum=np.maximum(t[:, col["comp"]] - completion * (view_n > 0), 0),
        likes=np.maximum(t[:, col["likes"]] - like_n, 0),
        remix_events=np.maximum(t[:, col["rmx"]] - remix_n, 0),
        negatives=np.maximum(t[:, col["neg"]] - neg_n, 0),
        author_volume_7d=volume.astype(np.float64),
        remixable=(perm == "anyone") | ((perm == "friends") & friend),
        author_seq=seq_by_post[at],
        vectors=vectors,
        viewer_create_rate=create_rate,
        topic_sim=topic_sim.astype(np.float32),
    )
    x = feature_matrix(batch)
    y = np.stack([remix_n > 0, created, like_n > 0, neg_n > 0], axis=1).astype(np.float32)
    candidate_x = x[~is_log]
    if candidates is not None:
        x, y, shown, view_n, watch_ms = x[is_log], y[is_log], shown[is_log], view_n[is_log], watch_ms[is_log]
        viewer, post, propensity, position = viewer[is_log], post[is_log], propensity[is_log], position[is_log]
        logged_at = logged_at[is_log]
    say("labels: " + ", ".join(f"{h} {y[:, j].mean():.2%}" for j, h in enumerate(["remix", "create", "like", "hide"])))
    rows = TrainingSet(
        x=x,
        y=y,
        watch_s=watch_ms / 1000.0,
        viewed=view_n > 0,
        t=shown,
        extra={"viewer": viewer, "post": post, "propensity": propensity, "position": position, "logged_at": logged_at},
    )
    return rows, candidate_x, candidate_kept
