"""Candidate sources for for-you: small functions, each with a budget (settings SOURCES,
about 500 candidates in all). Each is one bounded, index-backed query; none decides
visibility (the hydrate step applies the one rule to all candidates at once).

friends    friends' recent posts (a few per friend, newest first, affinity-ordered friends)
following  followed accounts' recent posts (the same, for one-way follows)
cameos     posts featuring the viewer's cameo or a friend's
chains     recent posts in remix chains the viewer took part in (posted or remixed in)
trending   remixable posts rising now (periodic task, cached in Redis)
similar    recent posts in the topics nearest what the viewer makes and likes (and steers to)
fresh      exploration: a random draw of the newest public posts and new creators' first posts
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.cache import cache
from psycopg.types.numeric import Int8

from feed.ranking.selectors import ViewerProfile, cfg
from feed.selectors import id_array, prepared_cursor


def trending_cache_key() -> str:
    from feed.ranking.store import database_tag

    return f"ranking:trending:v1:{database_tag()}"  # per database incarnation, like store.key


MAX_AUTHORS = 400  # authors probed per relationship source (highest affinity first)

_RECENT_BY_AUTHORS_SQL = """
SELECT p.id FROM unnest(%(authors)s::bigint[]) AS a(id)
CROSS JOIN LATERAL (
    SELECT id, created_at FROM feed_post
    WHERE author_id = a.id AND deleted_at IS NULL AND created_at >= %(since)s
    ORDER BY created_at DESC, id DESC LIMIT %(per)s
) p
ORDER BY p.created_at DESC LIMIT %(n)s
"""


def _ids(sql: str, params: dict) -> list[int]:
    # Prepared (planned a few times per connection); lists travel as one array literal and
    # ints as bigint so the statement's parameter types do not depend on the values.
    params = {k: id_array(v) if isinstance(v, list) else Int8(v) if type(v) is int else v for k, v in params.items()}
    with prepared_cursor() as c:
        c.execute(sql, params)
        return [row[0] for row in c.fetchall()]


def _ranked_authors(profile: ViewerProfile, authors: set[int], rng: random.Random) -> list[int]:
    """Authors by affinity, then a random sample of the rest, at most MAX_AUTHORS."""
    known = sorted((a for a in authors if a in profile.affinity), key=lambda a: -profile.affinity[a])
    rest = [a for a in authors if a not in profile.affinity]
    rng.shuffle(rest)
    return (known + rest)[:MAX_AUTHORS]


def friends(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    authors = _ranked_authors(profile, profile.friends - profile.blocked, rng)
    if not authors:
        return []
    return _ids(_RECENT_BY_AUTHORS_SQL, {"authors": authors, "since": now - timedelta(days=14), "per": 5, "n": budget})


def following(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    authors = _ranked_authors(profile, profile.following - profile.friends - profile.blocked, rng)
    if not authors:
        return []
    return _ids(_RECENT_BY_AUTHORS_SQL, {"authors": authors, "since": now - timedelta(days=7), "per": 3, "n": budget})


_CAMEOS_SQL = """
SELECT pc.post_id FROM cameos_cameo c
CROSS JOIN LATERAL (
    SELECT post_id FROM feed_postcameo WHERE cameo_id = c.id ORDER BY post_id DESC LIMIT 10
) pc
WHERE c.owner_id = ANY(%(owners)s::bigint[])
ORDER BY pc.post_id DESC LIMIT %(n)s
"""


def cameos(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    owners = [profile.user_id, *list(profile.friends - profile.blocked)[:MAX_AUTHORS]]
    return _ids(_CAMEOS_SQL, {"owners": owners, "n": budget})


_CHAINS_SQL = """
SELECT p.id FROM unnest(%(roots)s::bigint[]) AS r(id)
CROSS JOIN LATERAL (
    SELECT id FROM feed_post WHERE root_id = r.id AND deleted_at IS NULL AND author_id <> %(u)s
    ORDER BY id DESC LIMIT 10
) p
ORDER BY p.id DESC LIMIT %(n)s
"""


def chains(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    if not profile.chain_roots:
        return []
    roots = sorted(profile.chain_roots, reverse=True)[:50]
    return _ids(_CHAINS_SQL, {"roots": roots, "u": profile.user_id, "n": budget})


# Rising remixable posts of the last three days: remixes and remix starts count most, then
# likes; divided by age^1.5 so today's beat last week's (a Hacker-News-style gravity).
_TRENDING_SQL = """
SELECT p.id FROM feed_post p
LEFT JOIN ranking_poststats s ON s.post_id = p.id
WHERE p.deleted_at IS NULL AND p.visibility = 'public' AND p.remix_permission = 'anyone'
  AND p.created_at >= %(since)s
ORDER BY (5 * p.descendant_count + 2 * COALESCE(s.remix_starts, 0) + p.like_count + p.comment_count + 1)
         / power(EXTRACT(EPOCH FROM (%(now)s - p.created_at)) / 3600 + 2, 1.5) DESC
LIMIT %(n)s
"""


def trending_compute(*, now: datetime, size: int) -> list[int]:
    return _ids(_TRENDING_SQL, {"since": now - timedelta(days=3), "now": now, "n": size})


def trending_ids(*, now: datetime) -> list[int]:
    ids = cache.get(trending_cache_key())
    if ids is None:
        # Not computed yet (a fresh deployment): compute once here, cache as the task does.
        ids = trending_compute(now=now, size=cfg()["TRENDING_SIZE"])
        cache.set(trending_cache_key(), ids, cfg()["TRENDING_TTL_S"])
    return ids


def trending(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    return trending_ids(now=now)[: budget * 2]  # twice: some are seen or filtered


_SIMILAR_SQL = """
SELECT e.post_id FROM unnest(%(topics)s::smallint[]) AS t(id)
CROSS JOIN LATERAL (
    SELECT post_id, post_created_at FROM ranking_postembedding
    WHERE topic = t.id AND post_created_at >= %(since)s
    ORDER BY post_created_at DESC LIMIT %(per)s
) e
"""


def similar(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    topics = profile.profile_topics(k=3)
    if not topics:
        return []
    per = max(1, budget // len(topics))
    return _ids(_SIMILAR_SQL, {"topics": topics, "since": now - timedelta(days=7), "per": per})


_FRESH_SQL = """
(SELECT id FROM feed_post WHERE deleted_at IS NULL AND visibility = 'public' AND created_at >= %(since)s
 ORDER BY created_at DESC, id DESC LIMIT %(pool)s)
UNION
(SELECT post_id FROM ranking_postembedding WHERE author_seq <= 3 AND post_created_at >= %(since3)s
 ORDER BY post_created_at DESC LIMIT %(pool)s)
"""


def fresh(profile: ViewerProfile, *, budget: int, now: datetime, rng: random.Random) -> list[int]:
    pool = _ids(
        _FRESH_SQL,
        {"since": now - timedelta(days=1), "since3": now - timedelta(days=3), "pool": budget * 5},
    )
    return rng.sample(pool, min(budget, len(pool)))


Source = Callable[..., list[int]]
SOURCES: dict[str, Source] = {
    "friends": friends,
    "following": following,
    "cameos": cameos,
    "chains": chains,
    "trending": trending,
    "similar": similar,
    "fresh": fresh,
}
# Without personalisation only the sources that know nothing about the viewer remain.
UNPERSONALIZED = ("trending", "fresh")


def gather(profile: ViewerProfile, *, now: datetime, rng: random.Random, exclude: set[int]) -> dict[int, list[str]]:
    """Candidate id → the sources that proposed it (first = the one shown in explain)."""
    budgets = cfg()["SOURCES"]
    names = list(SOURCES) if profile.personalized else list(UNPERSONALIZED)
    found: dict[int, list[str]] = {}
    for name in names:
        budget = int(budgets.get(name, 0))
        if budget <= 0:
            continue
        taken = 0
        for post_id in SOURCES[name](profile, budget=budget, now=now, rng=rng):
            if post_id in exclude:
                continue
            if post_id in found:
                found[post_id].append(name)
                continue
            if taken >= budget:
                continue
            found[post_id] = [name]
            taken += 1
    return found
