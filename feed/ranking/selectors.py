"""Reads of the ranking app: the viewer's profile, the chronological feeds (following,
friends, latest, a cameo's posts) and helpers shared by services and commands.

Visibility is never decided here: every post that leaves these functions went through
`feed.selectors.posts_visible_to` (the one rule), minus what the viewer hid or reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from psycopg.types.numeric import Int8

from cameos.models import Cameo
from feed.models import EventType, Hide, Post, Visibility
from feed.ranking import steering as steering_math
from feed.ranking import topics
from feed.ranking.models import FeedPreference, PoolLog, ReportedPost, Steering
from feed.ranking.nudges import counts_as_watched
from feed.selectors import PostRef, posts_page, posts_visible_to, prepared_cursor
from sora_social.common.embeddings import EMBEDDING_DIM
from sora_social.common.errors import NotFound
from sora_social.common.pagination import cursor_not_of_this_list, decode_cursor, encode_cursor
from sora_social.users.models import Block, User


def cfg() -> dict:
    return settings.FEED_RANKING


def unpack_vector(raw: bytes | memoryview | None) -> np.ndarray | None:
    if raw is None:
        return None
    return np.frombuffer(bytes(raw), dtype=np.float16).astype(np.float32)


def pack_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


# --- who the viewer is to the ranker --------------------------------------------------------

# Interaction weights for author affinity (docs/ranking.md, "Features").
AFFINITY_WEIGHTS = {
    EventType.LIKE: 2.0,
    EventType.COMMENT: 3.0,
    EventType.SHARE: 3.0,
    EventType.REMIX_STARTED: 4.0,
    EventType.REMIX_POSTED: 5.0,
}
AFFINITY_VIEW = 0.5  # a view watched past half-way (adults only: minors are not profiled by watch time)
PROFILE_WEIGHTS = {"own": 3.0, "remix": 3.0, "like": 2.0, "view": 0.5}
PROFILE_DAYS = 30


@dataclass
class ViewerProfile:
    user_id: int
    is_minor: bool
    personalized: bool
    following: set[int] = field(default_factory=set)  # includes friends
    friends: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    excluded_posts: set[int] = field(default_factory=set)  # hidden or reported by the viewer
    hidden_author_days: dict[int, float] = field(default_factory=dict)  # days since the last hide/report
    affinity: dict[int, float] = field(default_factory=dict)
    vector: np.ndarray | None = None  # taste/creation profile, unit length
    create_rate: float = 0.0
    chain_roots: set[int] = field(default_factory=set)
    steer_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, EMBEDDING_DIM), dtype=np.float32))
    steer_signs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    steer_topics: list[int] = field(default_factory=list)  # topics of "more ..." terms

    def profile_topics(self, k: int = 3) -> list[int]:
        chosen = list(self.steer_topics)
        if self.vector is not None:
            sims = topics.topic_vectors() @ self.vector
            chosen += [int(t) for t in np.argsort(-sims)[:k]]
        return list(dict.fromkeys(chosen))


_FOLLOW_SQL = """
SELECT f.followee_id,
       EXISTS (SELECT 1 FROM users_follow b WHERE b.follower_id = f.followee_id AND b.followee_id = %(u)s)
FROM users_follow f WHERE f.follower_id = %(u)s
"""

# The viewer's own recent signals in one pass over their slice of the log (the log's primary
# key starts with user_id, so this is an index range scan), with each post's author and vector.
_EVENTS_SQL = """
SELECT e.post_id, e.type, e.completion, e.watch_ms, e.received_at, p.author_id, p.root_id, pe.vector
FROM feed_engagementevent e
JOIN feed_post p ON p.id = e.post_id
LEFT JOIN ranking_postembedding pe ON pe.post_id = e.post_id AND e.type IN (2, 3, 6, 7)
WHERE e.user_id = %(u)s AND e.received_at >= %(since)s AND e.type <> 1
"""

_OWN_POSTS_SQL = """
SELECT p.id, p.root_id, p.created_at, pe.vector
FROM feed_post p LEFT JOIN ranking_postembedding pe ON pe.post_id = p.id
WHERE p.author_id = %(u)s AND p.deleted_at IS NULL
ORDER BY p.created_at DESC LIMIT 50
"""

_HIDES_SQL = """
SELECT h.post_id, h.created_at, p.author_id FROM feed_hide h JOIN feed_post p ON p.id = h.post_id
WHERE h.user_id = %(u)s
"""


def feed_preference(user: User) -> FeedPreference | None:
    return FeedPreference.objects.filter(user_id=user.pk).first()


def is_personalized(user: User, preference: FeedPreference | None) -> bool:
    return preference.personalized if preference is not None else True


def viewer_profile(user: User, *, now: datetime | None = None) -> ViewerProfile:
    """Everything the sources, features and filters need about the viewer (about 7 queries)."""
    now = now or timezone.now()
    preference = feed_preference(user)
    profile = ViewerProfile(user_id=user.pk, is_minor=user.is_minor, personalized=is_personalized(user, preference))
    uid = user.pk
    with prepared_cursor() as c:
        c.execute(_FOLLOW_SQL, {"u": Int8(uid)})
        for followee, mutual in c.fetchall():
            profile.following.add(followee)
            if mutual:
                profile.friends.add(followee)
        c.execute(_HIDES_SQL, {"u": Int8(uid)})
        for post_id, at, author_id in c.fetchall():
            profile.excluded_posts.add(post_id)
            days = (now - at).total_seconds() / 86400
            profile.hidden_author_days[author_id] = min(days, profile.hidden_author_days.get(author_id, days))
        c.execute(_EVENTS_SQL, {"u": Int8(uid), "since": now - timedelta(days=PROFILE_DAYS)})
        events = c.fetchall()
        c.execute(_OWN_POSTS_SQL, {"u": Int8(uid)})
        own = c.fetchall()
    for a, b in Block.objects.filter(Q(blocker_id=uid) | Q(blocked_id=uid)).values_list("blocker_id", "blocked_id"):
        profile.blocked.add(b if a == uid else a)

    vec_sum = np.zeros(EMBEDDING_DIM, dtype=np.float32)
    views = 0
    for post_id, etype, completion, watch_ms, received_at, author_id, root_id, raw in events:
        if etype in (EventType.HIDE, EventType.REPORT):
            profile.excluded_posts.add(post_id)
            days = (now - received_at).total_seconds() / 86400
            profile.hidden_author_days[author_id] = min(days, profile.hidden_author_days.get(author_id, days))
            continue
        watched = etype == EventType.VIEW and counts_as_watched(completion, watch_ms)
        if etype == EventType.VIEW:
            views += 1
        weight = AFFINITY_WEIGHTS.get(etype, 0.0)
        if watched and not profile.is_minor:
            weight = AFFINITY_VIEW
        if weight and author_id != uid:
            profile.affinity[author_id] = profile.affinity.get(author_id, 0.0) + weight
        if etype in (EventType.REMIX_STARTED, EventType.REMIX_POSTED):
            profile.chain_roots.add(root_id)
        vector = unpack_vector(raw)
        if vector is not None:
            if etype in (EventType.REMIX_STARTED, EventType.REMIX_POSTED):
                vec_sum += PROFILE_WEIGHTS["remix"] * vector
            elif etype == EventType.LIKE:
                vec_sum += PROFILE_WEIGHTS["like"] * vector
            elif watched and not profile.is_minor:
                vec_sum += PROFILE_WEIGHTS["view"] * vector
    recent_posts = 0
    for _post_id, root_id, created_at, raw in own:
        profile.chain_roots.add(root_id)
        if created_at >= now - timedelta(days=PROFILE_DAYS):
            recent_posts += 1
        vector = unpack_vector(raw)
        if vector is not None:
            vec_sum += PROFILE_WEIGHTS["own"] * vector
    norm = float(np.linalg.norm(vec_sum))
    profile.vector = vec_sum / norm if norm > 0 else None
    from feed.ranking.features import viewer_create_rate

    profile.create_rate = viewer_create_rate(recent_posts, views)
    _attach_steering(profile)
    if not profile.personalized:
        # Non-personalised: nothing learnt about the viewer ranks their feed. Safety filters
        # (blocks, what they hid or reported) still apply.
        profile.affinity = {}
        profile.vector = None
        profile.chain_roots = set()
        profile.create_rate = viewer_create_rate(0, 0)
    return profile


def steering_of(user: User | int) -> Steering | None:
    user_id = user if isinstance(user, int) else user.pk
    return Steering.objects.filter(user_id=user_id).first()


def _attach_steering(profile: ViewerProfile) -> None:
    row = steering_of(profile.user_id)
    if row is None or row.vectors is None or not row.terms:
        return
    vectors = np.frombuffer(bytes(row.vectors), dtype=np.float16).astype(np.float32).reshape(-1, EMBEDDING_DIM)
    if len(vectors) != len(row.terms):
        return  # being re-embedded
    profile.steer_vectors = vectors
    profile.steer_signs = np.array([1.0 if t["direction"] == "more" else -1.0 for t in row.terms])
    profile.steer_topics = [
        topics.LABELS.index(t["topic"])
        for t in row.terms
        if t["direction"] == "more" and t.get("topic") in topics.LABELS
    ]


def steering_similarity(profile: ViewerProfile, vectors: np.ndarray) -> np.ndarray:
    return steering_math.steer_similarity(vectors, profile.steer_vectors, profile.steer_signs)


# --- chronological feeds (pull) ---------------------------------------------------------------

# Per-author pull: one index probe on (author_id, created_at desc, id desc) per followed
# account, each taking at most `n` posts older than the cursor, merged and cut to `n`.
_PULL_LATERAL_SQL = """
SELECT p.id, p.created_at FROM users_follow f
CROSS JOIN LATERAL (
    SELECT id, created_at FROM feed_post
    WHERE author_id = f.followee_id AND deleted_at IS NULL AND (created_at, id) < (%(ts)s, %(id)s)
    ORDER BY created_at DESC, id DESC LIMIT %(n)s
) p
WHERE f.follower_id = %(u)s {friends}
UNION ALL
SELECT id, created_at FROM (
    SELECT id, created_at FROM feed_post
    WHERE author_id = %(u)s AND deleted_at IS NULL AND (created_at, id) < (%(ts)s, %(id)s) AND %(own)s
    ORDER BY created_at DESC, id DESC LIMIT %(n)s
) mine
ORDER BY created_at DESC, id DESC LIMIT %(n)s
"""

# Time-index pull: walk the newest posts (partial index on created_at desc, id desc) keeping
# those whose author is in the followed set (hashed). Cheap when the viewer follows many.
_PULL_SCAN_SQL = """
SELECT p.id, p.created_at FROM feed_post p
WHERE p.deleted_at IS NULL AND (p.created_at, p.id) < (%(ts)s, %(id)s)
  AND (p.author_id IN (SELECT f.followee_id FROM users_follow f WHERE f.follower_id = %(u)s {friends})
       OR (%(own)s AND p.author_id = %(u)s))
ORDER BY p.created_at DESC, p.id DESC LIMIT %(n)s
"""
_FRIENDS_ONLY = (
    "AND EXISTS (SELECT 1 FROM users_follow b WHERE b.follower_id = f.followee_id AND b.followee_id = %(u)s)"
)
TOP = datetime(9999, 12, 31, tzinfo=UTC)  # a cursor position above every post


def _cursor_position(cursor: str | None) -> tuple[datetime, int]:
    if not cursor:
        return TOP, 2**62
    values = decode_cursor(cursor)
    if len(values) != 2 or not isinstance(values[0], datetime) or not isinstance(values[1], int):
        raise cursor_not_of_this_list()
    return values[0], values[1]


def follow_count(user: User) -> int:
    with prepared_cursor() as c:
        c.execute("SELECT count(*) FROM users_follow WHERE follower_id = %s", [Int8(user.pk)])
        return int(c.fetchone()[0])


def pull_ids(
    *, user: User, ts: datetime, post_id: int, n: int, friends_only: bool, strategy: str | None = None
) -> list[tuple[int, datetime]]:
    """(id, created_at) of the next `n` posts by followed accounts (or friends) older than
    (ts, post_id), newest first. `strategy`: "lateral" | "scan" | None (by follow count)."""
    if strategy is None:
        strategy = "scan" if follow_count(user) > cfg()["PULL_SCAN_FOLLOWS"] else "lateral"
    sql = _PULL_LATERAL_SQL if strategy == "lateral" else _PULL_SCAN_SQL
    sql = sql.format(friends=_FRIENDS_ONLY if friends_only else "")
    with prepared_cursor() as c:
        c.execute(sql, {"u": Int8(user.pk), "ts": ts, "id": Int8(post_id), "n": Int8(n), "own": not friends_only})
        return list(c.fetchall())


def _not_excluded(queryset: QuerySet[Post], user: User) -> QuerySet[Post]:
    """Without the posts the viewer hid ("not interested") or reported."""
    hidden = Hide.objects.filter(user_id=user.pk).values("post_id")
    reported = ReportedPost.objects.filter(user_id=user.pk).values("post_id")
    return queryset.exclude(pk__in=hidden).exclude(pk__in=reported)


class PostPage(list):
    """Posts of a page (read-only stand-ins, see feed.selectors.posts_page) that also carry
    the credits of their parents and roots, read in the same statement."""

    lineage: dict[int, PostRef]

    def __init__(self, posts=(), lineage: dict[int, PostRef] | None = None) -> None:
        super().__init__(posts)
        self.lineage = dict(lineage or {})


# What the viewer reported (folded from the log into ReportedPost) leaves every feed, like
# what they hid (feed.selectors.posts_page leaves hidden posts out itself).
_NOT_REPORTED_SQL = (
    f"NOT EXISTS (SELECT 1 FROM {ReportedPost._meta.db_table} rp WHERE rp.user_id = %(viewer)s AND rp.post_id = p.id)"
)


def hydrate(user: User, ids: list[int]) -> PostPage:
    """Visible posts among `ids`, in the order of `ids`, ready for feed's post serializer,
    without what the viewer hid or reported, with the credits of their parents and roots:
    one statement (feed.selectors.posts_page: the visibility rule, the viewer's state, the
    featured cameos, the credits)."""
    if not ids:
        return PostPage()
    found = posts_page(viewer_id=user.pk, post_ids=ids, exclude_sql=_NOT_REPORTED_SQL)
    return PostPage(found.posts, found.lineage)


def chronological_page(
    *, user: User, cursor: str | None, limit: int, friends_only: bool, strategy: str | None = None
) -> tuple[list[Post], str | None]:
    """A page of the following (or friends) feed: pull over the author index, then the one
    visibility rule. Over-fetches a little; loops (rarely) when filters removed too many."""
    ts, last_id = _cursor_position(cursor)
    page = PostPage()
    exhausted = False
    for _ in range(4):
        want = limit - len(page) + 1
        batch = pull_ids(user=user, ts=ts, post_id=last_id, n=want + 5, friends_only=friends_only, strategy=strategy)
        if not batch:
            exhausted = True
            break
        rows = hydrate(user, [pid for pid, _ in batch])
        page.extend(rows)
        page.lineage.update(rows.lineage)
        last_id, ts = batch[-1][0], batch[-1][1]
        if len(batch) < want + 5:
            exhausted = True
        if len(page) > limit or exhausted:
            break
    has_more = len(page) > limit or not exhausted
    page = PostPage(page[:limit], page.lineage)
    next_cursor = encode_cursor([page[-1].created_at, page[-1].pk]) if page and has_more else None
    return page, next_cursor


def _keyset(queryset: QuerySet[Post], cursor: str | None, limit: int) -> tuple[list[Post], str | None]:
    """Newest first by (created_at, id); the redundant `created_at <= ts` is what lets
    PostgreSQL start the index scan at the cursor instead of filtering from the top."""
    if cursor:
        ts, last_id = _cursor_position(cursor)
        queryset = queryset.filter(Q(created_at__lte=ts) & (Q(created_at__lt=ts) | Q(created_at=ts, id__lt=last_id)))
    rows = list(queryset.order_by("-created_at", "-id")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].created_at, rows[limit - 1].pk]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def latest_page(*, user: User, cursor: str | None, limit: int) -> tuple[list[Post], str | None]:
    """The public firehose: every public post, newest first, without what the viewer hid."""
    return _keyset(_not_excluded(posts_visible_to(user).filter(visibility=Visibility.PUBLIC), user), cursor, limit)


def cameo_for_viewer(*, user: User, cameo_id: int) -> Cameo:
    """A cameo whose public appearances the viewer may list: it exists and no block stands
    between the viewer and its owner (the posts themselves pass the visibility rule)."""
    cameo = Cameo.objects.filter(pk=cameo_id).select_related("owner").first()
    if cameo is None or (
        cameo.owner_id != user.pk
        and Block.objects.filter(
            Q(blocker_id=user.pk, blocked_id=cameo.owner_id) | Q(blocker_id=cameo.owner_id, blocked_id=user.pk)
        ).exists()
    ):
        raise NotFound("cameo_not_found", "No such cameo.")
    return cameo


def cameo_posts_page(*, user: User, cameo: Cameo, cursor: str | None, limit: int) -> tuple[list[Post], str | None]:
    posts = _not_excluded(posts_visible_to(user).filter(post_cameos__cameo_id=cameo.pk), user)
    return _keyset(posts, cursor, limit)


# --- pool logs (off-policy evaluation) ---------------------------------------------------------


@dataclass
class LoggedPool:
    """A sampled for-you session's pool (ranking.PoolLog) as arrays: slot k showed
    candidates[shown[k]] with probability propensity[k]."""

    user_id: int
    at: float  # epoch seconds the list was built
    candidates: np.ndarray
    shown: np.ndarray
    propensity: np.ndarray


def pool_logs_since(since: datetime, *, max_candidates: int = 2_000_000) -> list[LoggedPool]:
    """The pool logs built since `since`, oldest first; the newest ones while their candidates
    add up to `max_candidates` (what the evaluator can hold)."""
    rows = (
        PoolLog.objects.filter(created_at__gte=since)
        .order_by("-created_at", "-id")
        .values_list("user_id", "created_at", "candidates", "shown", "propensity")
    )
    out: list[LoggedPool] = []
    total = 0
    for user_id, at, candidates, shown, propensity in rows.iterator(chunk_size=500):
        total += len(candidates)
        if total > max_candidates:
            break
        out.append(
            LoggedPool(
                user_id=user_id,
                at=at.timestamp(),
                candidates=np.asarray(candidates, dtype=np.int64),
                shown=np.asarray(shown, dtype=np.int64),
                propensity=np.asarray(propensity, dtype=np.float64),
            )
        )
    out.reverse()
    return out
