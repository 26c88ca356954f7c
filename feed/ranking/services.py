"""The ranking app's use-cases: building and paging for-you, steering, preferences, and the
background work that keeps its inputs fresh (post embeddings, engagement counters, trending).

For-you in one paragraph: the first page of a scroll builds a *session*: the viewer's
profile → candidate sources (~500) → one visibility-checked hydrate → features (numpy) →
model predictions → score → listwise re-rank → a frozen list of up to 200 items in Redis.
Pages are slices of that list, re-checked against visibility, hides and reports when served,
and marked seen, so a scroll never repeats or skips a post however many are posted meanwhile;
when the list runs out the next page builds a new one without anything already seen.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.numeric import Int8

from cameos.models import Cameo, CameoKind, CameoStatus
from feed.models import Post, RemixPermission
from feed.ranking import nudges as nudge_rules
from feed.ranking import sources, store, topics
from feed.ranking.features import CandidateBatch, feature_matrix
from feed.ranking.model import RankerModel, current_model
from feed.ranking.models import FeedPreference, PostEmbedding, PostStats, Steering, Watermark
from feed.ranking.rerank import RerankConfig, rerank
from feed.ranking.scoring import Weights, score
from feed.ranking.selectors import (
    ViewerProfile,
    cfg,
    hydrate,
    pack_vector,
    steering_similarity,
    viewer_profile,
)
from feed.selectors import id_array, prepared_cursor, visibility_sql, visible_posts_q
from sora_social.common.embeddings import EMBEDDING_DIM, embed_texts
from sora_social.common.errors import ApplicationError
from sora_social.common.pagination import decode_cursor, encode_cursor
from sora_social.users.models import User

# --- building a session ----------------------------------------------------------------------


@contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall milliseconds of the block to ``timings[stage]`` (the API reports them in
    its Server-Timing header, so an operator sees where a slow page spent its time)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - started) * 1000


# The columns of a ranked list's explain matrix (one float64 row per item, in scroll order).
EXPLAIN_COLUMNS = (
    "score",
    "remix",
    "create",
    "like",
    "hide",
    "watch_s",
    "w_create",
    "w_remix",
    "w_like",
    "w_watch",
    "boost",
    "fatigue",
    "steer",
    "hide_penalty",
    "rank_by_score",
    "author_factor",
    "mmr_penalty",
    "friends_quota",
)


def explain_data(row: np.ndarray | list[float], sources: list[str], position: int) -> dict[str, Any]:
    """One item's explain (the `?explain=1` shape) from its row of the explain matrix;
    `position` is its place in the session's list, from 1."""
    values = row.tolist() if isinstance(row, np.ndarray) else row
    (score_, remix, create, like, hide, watch_s, w_create, w_remix, w_like, w_watch, boost, fatigue, steer, penalty,
     rank_by_score, author_factor_, mmr_penalty, friends_quota) = values  # fmt: skip
    return {
        "source": sources[0],
        "sources": list(sources),
        "score": score_,
        "predicted": {"remix": remix, "create": create, "like": like, "hide": hide, "watch_s": watch_s},
        "weighted": {"create": w_create, "remix": w_remix, "like": w_like, "watch": w_watch},
        "boost": boost,
        "fatigue": fatigue,
        "steer": steer,
        "hide_penalty": penalty,
        "rerank": {
            "rank_by_score": int(rank_by_score),
            "position": position,
            "author_factor": author_factor_,
            "mmr_penalty": mmr_penalty,
            "friends_quota": bool(friends_quota),
        },
    }


@dataclass
class Ranked:
    """A ranked list: post ids in scroll order, the sources that proposed each (the first is
    the one shown), and the explain matrix (EXPLAIN_COLUMNS, one row per item)."""

    post_ids: list[int]
    sources: list[list[str]]
    explain: np.ndarray
    candidates: int
    model: str
    personalized: bool = True

    @property
    def items(self) -> list[dict[str, Any]]:
        """Each item as a dict: post id, source and explain (for callers that want them all)."""
        return [
            {"p": pid, "s": srcs[0], "x": explain_data(self.explain[i], srcs, i + 1)}
            for i, (pid, srcs) in enumerate(zip(self.post_ids, self.sources, strict=True))
        ]


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


def rank_candidates(
    profile: ViewerProfile,
    ids: list[int],
    source_of: dict[int, list[str]],
    batch: CandidateBatch,
    hidden_days: np.ndarray,
    *,
    model: RankerModel | None = None,
) -> Ranked:
    """Features → model → score → re-rank (all numpy; eval_feed runs this same function)."""
    settings_ = cfg()
    model = model or current_model(settings_.get("MODEL_PATH"))
    x = feature_matrix(batch)
    if not profile.personalized:
        from feed.ranking.features import depersonalize

        x = depersonalize(x)
    pred = model.predict(x)
    steer = steering_similarity(profile, batch.vectors) if profile.personalized else None
    scored = score(
        x,
        pred,
        Weights.from_settings(settings_.get("WEIGHTS")),
        age_hours=batch.age_hours,
        days_since_author_hidden=hidden_days,
        steer=steer,
        minor=profile.is_minor,
    )
    config = RerankConfig.from_settings(settings_.get("RERANK"))
    # Topic diversity on the posts' topic coordinates (32-d) rather than the raw 384-d vectors.
    result = rerank(scored.score, batch.author_id, batch.is_friend, topics.topic_coordinates(batch.vectors), config)
    by_score = np.empty(len(ids), dtype=np.int64)
    by_score[np.argsort(-scored.score, kind="stable")] = np.arange(len(ids))
    order = result.order
    # The explain data as one float64 matrix in scroll order, every number rounded as shown
    # (EXPLAIN_COLUMNS); the per-item dicts are built only for a page that asks for them.
    explain = np.column_stack(
        [
            np.round(np.asarray(values, dtype=np.float64)[order], 4)
            for values in (
                scored.score,
                pred.remix,
                pred.create,
                pred.like,
                pred.hide,
                pred.watch_s,
                scored.parts["create"],
                scored.parts["remix"],
                scored.parts["like"],
                scored.parts["watch"],
                scored.boost,
                scored.fatigue,
                scored.steer,
                scored.penalty,
            )
        ]
        + [
            (by_score[order] + 1).astype(np.float64),
            np.round(result.author_factor, 4),
            np.round(result.mmr_penalty, 4),
            result.quota_pick.astype(np.float64),
        ]
    ).reshape(len(order), len(EXPLAIN_COLUMNS))
    post_ids = [ids[i] for i in order.tolist()]
    return Ranked(
        post_ids=post_ids,
        sources=[source_of.get(pid, ["unknown"]) for pid in post_ids],
        explain=np.ascontiguousarray(explain),
        candidates=len(ids),
        model=model.name,
        personalized=profile.personalized,
    )


def viewer_profile_cached(user: User, *, now: datetime) -> ViewerProfile:
    """The viewer's profile, cached for PROFILE_TTL_S (a refresh rebuilds the list without
    recomputing it). Staleness is bounded and safe: every served page re-checks visibility,
    blocks, hides and reports; steering and preference changes drop the cache at once."""
    ttl = int(cfg().get("PROFILE_TTL_S", 0))
    if ttl <= 0:
        return viewer_profile(user, now=now)
    profile = store.profile_get(user.pk)
    if profile is None or profile.is_minor != user.is_minor:
        profile = viewer_profile(user, now=now)
        store.profile_set(user.pk, profile, ttl_s=ttl)
    return profile


@lru_cache(maxsize=1)
def _blas_single_threaded() -> bool:
    """Serving ranks a few hundred rows at a time: OpenBLAS's worker threads cost far more
    than they give there (a 213×384 by 384×32 product took 1.8 ms of CPU and 3.5 ms of wall
    time with two threads on this shared 2-core machine, 0.08 ms with one), and a web process
    already runs requests in parallel. Set once, for the process that serves for-you; the
    offline evaluation and the trainer (which call rank_candidates directly) keep theirs."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return False
    threadpool_limits(limits=1, user_api="blas")
    return True


def for_you_rank(
    *, user: User, now: datetime | None = None, seed: int | None = None, timings: dict[str, float] | None = None
) -> Ranked:
    """Rank a fresh for-you list for `user` (without posts they have seen recently).
    ``timings``: filled with each stage's wall milliseconds."""
    _blas_single_threaded()
    now = now or timezone.now()
    rng = random.Random(seed)
    with _timed(timings, "profile"):
        profile = viewer_profile_cached(user, now=now)
        exclude = store.seen_ids(user.pk, ttl_s=cfg()["SEEN_TTL_S"]) | profile.excluded_posts
    with _timed(timings, "sources"):
        source_of = sources.gather(profile, now=now, rng=rng, exclude=exclude)
    with _timed(timings, "candidates"):
        ids, batch, hidden_days = candidate_batch(profile, list(source_of), now=now)
    with _timed(timings, "rank"):
        return rank_candidates(profile, ids, source_of, batch, hidden_days)


# --- paging for-you ---------------------------------------------------------------------------


@dataclass
class DailyLimit:
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class ForYouPage:
    items: list[dict[str, Any]]  # {"type": "post", "post": Post, ...} or {"type": "nudge", ...}
    next_cursor: str | None
    limit_reached: bool = False
    daily_limit: DailyLimit | None = None
    personalized: bool = True
    model: str = ""
    nudges: list[dict[str, Any]] = field(default_factory=list)
    lineage: dict[int, Any] = field(default_factory=dict)  # credits of the posts' parents and roots
    timings: dict[str, float] = field(default_factory=dict)  # wall ms per stage (Server-Timing)


def _local_day(user: User, now: datetime) -> tuple[str, datetime]:
    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except Exception:  # an unknown zone name: count days in UTC rather than fail the feed
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.date().isoformat(), midnight


def daily_limit_of(user: User, now: datetime) -> DailyLimit | None:
    if not user.is_minor:
        return None
    day, resets_at = _local_day(user, now)
    return DailyLimit(limit=int(cfg()["TEEN_DAILY_LIMIT"]), used=store.daily_count(user.pk, day), resets_at=resets_at)


def _decode_for_you_cursor(cursor: str) -> tuple[str, int]:
    values = decode_cursor(cursor)
    if len(values) != 3 or values[0] != "fy" or not isinstance(values[1], str) or not isinstance(values[2], int):
        raise ApplicationError("invalid_cursor", "The cursor does not belong to this list.")
    if values[2] < 0:
        raise ApplicationError("invalid_cursor", "The cursor does not belong to this list.")
    return values[1], values[2]


_EXPLAIN_ROW_BYTES = 8 * len(EXPLAIN_COLUMNS)


def _new_session(
    user: User, now: datetime, timings: dict[str, float] | None = None
) -> tuple[str | None, dict[str, Any], Ranked]:
    ranked = for_you_rank(user=user, now=now, timings=timings)
    header = {"personalized": ranked.personalized, "model": ranked.model, "candidates": ranked.candidates}
    if not ranked.post_ids:
        return None, header, ranked
    with _timed(timings, "store"):
        sid = store.session_create(
            user.pk,
            header,
            ranked.post_ids,
            ranked.sources,
            ranked.explain.astype("<f8").tobytes(),
            ttl_s=cfg()["SESSION_TTL_S"],
        )
    return sid, header, ranked


def for_you_page(
    *, user: User, cursor: str | None, limit: int, now: datetime | None = None, explain: bool = True
) -> ForYouPage:
    """One page of for-you. Writes nothing to the database (the seen memory, the session and
    the teen counter are in Redis), so it is not a transaction. `explain`: fill each item's
    explain (else None)."""
    now = now or timezone.now()
    settings_ = cfg()
    ttl = settings_["SESSION_TTL_S"]
    max_items = RerankConfig.from_settings(settings_.get("RERANK")).max_items
    daily = daily_limit_of(user, now)
    if daily is not None and daily.remaining <= 0:
        return ForYouPage(items=[], next_cursor=None, limit_reached=True, daily_limit=daily)
    if daily is not None:
        limit = min(limit, daily.remaining)

    sliced = None
    timings: dict[str, float] = {}
    row_bytes = _EXPLAIN_ROW_BYTES if explain else 0
    if cursor:
        sid, offset = _decode_for_you_cursor(cursor)
        with _timed(timings, "slice"):
            sliced = store.session_slice(user.pk, sid, offset, offset + limit, ttl_s=ttl, explain_row_bytes=row_bytes)
        # Expired (or not this user's), or this list ran out: a new list, without what was seen.
        if sliced is not None and not sliced.post_ids and offset >= sliced.length:
            sliced = None
    if sliced is None:
        sid, header, ranked = _new_session(user, now, timings)
        offset = 0
        sliced = store.SessionSlice(
            header=header,
            post_ids=ranked.post_ids[:limit],
            sources=ranked.sources[:limit],
            explain=ranked.explain[:limit].astype("<f8").tobytes() if explain else None,
            length=len(ranked.post_ids),
        )
    header, length = sliced.header, sliced.length
    rows = np.frombuffer(sliced.explain, dtype="<f8").reshape(-1, len(EXPLAIN_COLUMNS)) if sliced.explain else None
    with _timed(timings, "hydrate"):
        found = hydrate(user, sliced.post_ids)
    posts = {p.pk: p for p in found}
    page: list[dict[str, Any]] = []
    for i, (post_id, srcs) in enumerate(zip(sliced.post_ids, sliced.sources, strict=True)):
        post = posts.get(post_id)
        if post is None:
            continue  # removed, hidden, reported or blocked since the list was built
        x = explain_data(rows[i], srcs, offset + i + 1) if rows is not None and i < len(rows) else None
        page.append({"type": "post", "post": post, "source": srcs[0], "explain": x})
    with _timed(timings, "seen"):
        seen = [it["post"].pk for it in page]
        store.seen_add(user.pk, seen, ttl_s=settings_["SEEN_TTL_S"], cap=settings_["SEEN_CAP"])
        if daily is not None and page:
            daily.used = store.daily_add(user.pk, _local_day(user, now)[0], len(page))

    if sid is not None and page:
        with _timed(timings, "nudge"):
            nudge = _maybe_nudge(user, sid, now)
        if nudge is not None:
            page.insert(min(3, len(page)), nudge)

    end = offset + len(sliced.post_ids)
    # More after this page: the rest of this list, or a next list if this one was cut at
    # max_items (a shorter list means the candidates ran out).
    more = sid is not None and (end < length or length >= max_items)
    if daily is not None and daily.remaining <= 0:
        more = False  # no continuous scroll past the daily limit
    return ForYouPage(
        items=page,
        next_cursor=encode_cursor(["fy", sid, end]) if more else None,
        limit_reached=daily is not None and daily.remaining <= 0,
        daily_limit=daily,
        personalized=bool(header.get("personalized", True)),
        model=str(header.get("model", "")),
        lineage=found.lineage,
        timings=timings,
    )


# --- creation nudges --------------------------------------------------------------------------

_NUDGE_SQL = """
WITH last AS (
    SELECT GREATEST(
        (SELECT max(created_at) FROM feed_post WHERE author_id = %(u)s),
        (SELECT max(occurred_at) FROM feed_engagementevent WHERE user_id = %(u)s AND type IN (6, 7))
    ) AS at
)
SELECT e.post_id, pe.topic, e.occurred_at, e.completion, e.watch_ms,
       (p.remix_permission = 'anyone' OR (p.remix_permission = 'friends'
        AND EXISTS (SELECT 1 FROM users_follow a WHERE a.follower_id = %(u)s AND a.followee_id = p.author_id)
        AND EXISTS (SELECT 1 FROM users_follow b WHERE b.follower_id = p.author_id AND b.followee_id = %(u)s))),
       (SELECT at FROM last)
FROM feed_engagementevent e
JOIN ranking_postembedding pe ON pe.post_id = e.post_id
JOIN feed_post p ON p.id = e.post_id
WHERE e.user_id = %(u)s AND e.type = 2 AND e.occurred_at >= %(since)s
  AND e.occurred_at > COALESCE((SELECT at FROM last), '-infinity'::timestamptz)
"""


def nudge_choice(user: User, now: datetime) -> nudge_rules.NudgeChoice | None:
    """The nudge the rule would show `user` now, if any (reads their recent views)."""
    settings_ = cfg()
    with prepared_cursor() as c:
        c.execute(_NUDGE_SQL, {"u": Int8(user.pk), "since": now - timedelta(hours=settings_["NUDGE_WINDOW_H"])})
        rows = c.fetchall()
    watched = [
        nudge_rules.WatchedPost(post_id=r[0], topic=r[1], at=r[2], remixable=bool(r[5]))
        for r in rows
        if nudge_rules.counts_as_watched(r[3], r[4])
    ]
    last = rows[0][6] if rows else None
    return nudge_rules.pick_nudge(watched, last_created_at=last, threshold=int(settings_["NUDGE_THRESHOLD"]))


def _maybe_nudge(user: User, sid: str, now: datetime) -> dict[str, Any] | None:
    settings_ = cfg()
    cap = int(settings_["NUDGES_PER_SESSION"])
    if cap <= 0 or store.session_nudges(user.pk, sid) >= cap:
        return None
    choice = nudge_choice(user, now)
    if choice is None:
        return None
    post = (
        Post.objects.filter(pk=choice.post_id)
        .filter(visible_posts_q(user.pk))
        .values("id", "caption", "author__handle")
        .first()
    )
    if post is None:
        return None
    store.session_nudges(user.pk, sid, add=1, ttl_s=settings_["SESSION_TTL_S"])
    cameo = (
        Cameo.objects.filter(owner_id=user.pk, kind=CameoKind.PERSON, status=CameoStatus.ACTIVE)
        .values_list("name", flat=True)
        .first()
    )
    label = topics.LABELS[choice.topic]
    return {
        "type": "nudge",
        "post": None,
        "source": "nudge",
        "explain": None,
        "nudge": {
            "kind": "make_your_own",
            "topic": label,
            "watched": choice.watched,
            "message": f"You've watched {choice.watched} {label.replace('_', ' ')} videos. Make your own?",
            "post_id": post["id"],
            "post_author": post["author__handle"],
            "remix_prompt": nudge_rules.remix_prompt(caption=post["caption"], topic_label=label, cameo_name=cameo),
        },
    }


# --- steering and preferences -----------------------------------------------------------------


@transaction.atomic
def steering_set(*, user: User, text: str) -> Steering:
    """Store what the viewer asked for, parsed; the terms are embedded by a task on commit."""
    from feed.ranking import steering as steering_math

    text = " ".join((text or "").split())
    if not text:
        raise ApplicationError("steering_empty", "Say what you want more or less of.", fields={"text": ["Required."]})
    if len(text) > steering_math.MAX_TEXT:
        raise ApplicationError(
            "steering_too_long",
            f"At most {steering_math.MAX_TEXT} characters.",
            fields={"text": [f"At most {steering_math.MAX_TEXT} characters."]},
        )
    terms = steering_math.parse(text)
    if not terms:
        raise ApplicationError(
            "steering_not_understood",
            'Name a topic, e.g. "more anime, less sports".',
            fields={"text": ["No topic found."]},
        )
    row, _ = Steering.objects.update_or_create(
        user_id=user.pk,
        defaults={
            "text": text,
            "terms": [{"phrase": t.phrase, "direction": t.direction, "topic": None} for t in terms],
            "vectors": None,
            "embedded_at": None,
            "updated_at": timezone.now(),
        },
    )
    from sora_social.outbox.services import outbox_send_on_commit

    transaction.on_commit(lambda: store.profile_forget(user.pk))
    outbox_send_on_commit(task="ranking.steering_embed", args=[user.pk])
    return row


@transaction.atomic
def steering_embed(*, user_id: int) -> Steering | None:
    """Embed the viewer's steering terms (MiniLM), blended with their nearest topics."""
    from feed.ranking import steering as steering_math

    row = Steering.objects.select_for_update().filter(user_id=user_id).first()
    if row is None or not row.terms:
        return row
    phrases = [t["phrase"] for t in row.terms]
    vectors, nearest = steering_math.term_vectors(embed_texts(phrases), topics.topic_vectors())
    row.terms = [{**t, "topic": topics.LABELS[int(k)]} for t, k in zip(row.terms, nearest, strict=True)]
    row.vectors = np.asarray(vectors, dtype=np.float16).tobytes()
    row.embedded_at = timezone.now()
    row.save(update_fields=["terms", "vectors", "embedded_at"])
    transaction.on_commit(lambda: store.profile_forget(user_id))
    return row


@transaction.atomic
def steering_clear(*, user: User) -> bool:
    deleted, _ = Steering.objects.filter(user_id=user.pk).delete()
    transaction.on_commit(lambda: store.profile_forget(user.pk))
    return bool(deleted)


@transaction.atomic
def feed_preference_set(*, user: User, personalized: bool) -> FeedPreference:
    row, _ = FeedPreference.objects.update_or_create(
        user_id=user.pk, defaults={"personalized": personalized, "updated_at": timezone.now()}
    )
    transaction.on_commit(lambda: store.profile_forget(user.pk))
    return row


# --- post embeddings --------------------------------------------------------------------------


def _post_texts(post_ids: list[int]) -> dict[int, str]:
    """What a post is about: the prompt that made its video (when generated) and its caption."""
    rows = Post.objects.filter(pk__in=post_ids).values_list("id", "caption", "video__generation_job__prompt")
    return {pid: " ".join(filter(None, [prompt or "", caption])).strip() for pid, caption, prompt in rows}


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@transaction.atomic
def post_embeddings_compute(*, post_ids: list[int]) -> int:
    """Embed posts (prompt + caption) and store vector, topic and the author's post ordinal.

    Idempotent: a post whose text has not changed since its embedding is skipped."""
    texts = _post_texts(post_ids)
    if not texts:
        return 0
    existing = dict(PostEmbedding.objects.filter(post_id__in=list(texts)).values_list("post_id", "text_sha"))
    todo = [pid for pid, text in texts.items() if existing.get(pid) != _text_sha(text)]
    if not todo:
        return 0
    vectors = embed_texts([texts[pid] or "a short video" for pid in todo])
    nearest = topics.nearest_topics(vectors)
    posts = {p["id"]: p for p in Post.objects.filter(pk__in=todo).values("id", "author_id", "created_at")}
    for i, pid in enumerate(todo):
        post = posts[pid]
        seq = Post.objects.filter(author_id=post["author_id"], created_at__lte=post["created_at"]).count()
        PostEmbedding.objects.update_or_create(
            post_id=pid,
            defaults={
                "vector": pack_vector(vectors[i]),
                "topic": int(nearest[i]),
                "author_seq": max(seq, 1),
                "post_created_at": post["created_at"],
                "text_sha": _text_sha(texts[pid]),
                "computed_at": timezone.now(),
            },
        )
    return len(todo)


def post_embedding_compute(*, post_id: int) -> int:
    """Feed calls this (through the task) after a post is created: see docs/ranking.md."""
    return post_embeddings_compute(post_ids=[post_id])


def post_embeddings_backfill(*, batch: int = 256) -> int:
    """Embed up to `batch` live posts that have no embedding yet, newest first."""
    missing = list(
        Post.objects.filter(deleted_at__isnull=True)
        .exclude(pk__in=PostEmbedding.objects.values("post_id"))
        .order_by("-created_at")
        .values_list("id", flat=True)[:batch]
    )
    return post_embeddings_compute(post_ids=missing) if missing else 0


# --- counters from the event log, and trending ------------------------------------------------

_STATS_FOLD_SQL = """
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
_REPORTS_FOLD_SQL = """
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
        c.execute(_STATS_FOLD_SQL, {"lo": mark.at, "hi": upper, "now": now})
        touched = c.rowcount
        c.execute(_REPORTS_FOLD_SQL, {"lo": mark.at, "hi": upper})
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
