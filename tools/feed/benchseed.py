"""Seed a separate benchmark database with a synthetic population, fast (COPY).

`python manage.py seed_feed_bench --users 100000 --posts 1000000 --events 10000000` drops and
recreates the database (default `<DATABASE_NAME>_bench`), migrates it, and loads users,
follows, cameos, videos, posts (with lineage, audiences, remix permissions), post cameos,
likes, hides, post embeddings, the engagement log, post counters and bearer tokens for the
benchmark clients (written to var/bench/feed_tokens.json).

The population and the behaviour that produces the log come from `synthetic.py`. Embeddings
are NOT MiniLM runs over a million captions (hours on two cores): each post's vector is the
real MiniLM embedding of its topic's description plus noise (cosine ~0.8 to the centroid).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psycopg

from feed.ranking import topics
from sora_social.demo.database import recreate_database
from tools.feed.pgcopy import (
    BinCol,
    copy_binary,
    copy_text,
    encode_rows,
    iso,
    reset_sequence,
    restore,
    strip_table,
)
from tools.feed.synthetic import DAY, REMIX_PERMISSION, VIDEO_SECONDS, VISIBILITY, Population, make_population

ROOT = Path(__file__).resolve().parents[2]
TOKENS_PATH = ROOT / "var" / "bench" / "feed_tokens.json"
# EventType values (feed.models; not imported so this module runs without Django set up).
IMPRESSION, VIEW, LIKE, COMMENT, SHARE, REMIX_STARTED, REMIX_POSTED, HIDE, REPORT = range(1, 10)
FOR_YOU, FOLLOWING, LATEST = 1, 2, 3
CHUNK = 250_000


class Events:
    """The engagement log as columns (time-sorted when finished)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("user", "post", "t", "type", "watch", "comp", "surf", "pos", "prop")
        }

    def add(self, user, post, t, etype, *, watch=None, comp=None, surf=None, pos=None, prop=None) -> None:
        n = len(user)
        self.parts["user"].append(np.asarray(user, dtype=np.int32))
        self.parts["post"].append(np.asarray(post, dtype=np.int32))
        self.parts["t"].append(np.asarray(t, dtype=np.float64))
        self.parts["type"].append(np.full(n, etype, dtype=np.int16) if np.isscalar(etype) else etype.astype(np.int16))
        self.parts["watch"].append(np.zeros(n, np.int32) if watch is None else watch.astype(np.int32))
        self.parts["comp"].append(np.zeros(n, np.float32) if comp is None else comp.astype(np.float32))
        self.parts["surf"].append(np.zeros(n, np.int16) if surf is None else surf.astype(np.int16))
        self.parts["pos"].append(np.zeros(n, np.int16) if pos is None else pos.astype(np.int16))
        self.parts["prop"].append(np.full(n, np.nan, np.float32) if prop is None else prop.astype(np.float32))

    def finish(self) -> dict[str, np.ndarray]:
        cols = {k: np.concatenate(v) for k, v in self.parts.items()}
        order = np.argsort(cols["t"], kind="stable")
        return {k: v[order] for k, v in cols.items()}


def _add_views(
    ev: Events,
    rng: np.random.Generator,
    viewer: np.ndarray,
    post: np.ndarray,
    t: np.ndarray,
    completion: np.ndarray,
    surface: np.ndarray,
    position: np.ndarray,
) -> np.ndarray:
    """85 % of impressions become a view a second later, completion drawn around the behaviour
    model's; returns which did."""
    viewed = rng.random(len(viewer)) < 0.85
    comp = np.clip(completion + rng.normal(0, 0.15, len(viewer)), 0, 1)
    ev.add(
        viewer[viewed],
        post[viewed],
        t[viewed] + 1,
        VIEW,
        watch=comp[viewed] * VIDEO_SECONDS * 1000,
        comp=comp[viewed],
        surf=surface[viewed],
        pos=position[viewed],
    )
    return viewed


def generate_events(pop: Population, target: int, rng: np.random.Generator, say: Callable[[str], None]) -> dict:
    """Impressions from three surfaces and what the behaviour model makes viewers do with
    them, plus the events that precede creations (a view before a post, remix events before
    a remix), so the log holds the "created after viewing" signal the ranker learns."""
    ev = Events()
    now = pop.now
    window = 30 * DAY
    # Creations first: remixers started and posted a remix of the parent minutes before.
    remixes = np.flatnonzero(pop.post_remix_of >= 0)
    t_post = pop.post_time[remixes]
    author = pop.post_author[remixes]
    parent = pop.post_remix_of[remixes]
    lead = rng.uniform(120, 1200, len(remixes))
    for etype, back in ((IMPRESSION, 1.6), (VIEW, 1.5), (REMIX_STARTED, 1.0), (REMIX_POSTED, 0.02)):
        comp = np.ones(len(remixes)) if etype == VIEW else None
        watch = np.full(len(remixes), int(VIDEO_SECONDS * 1000)) if etype == VIEW else None
        ev.add(author, parent, t_post - lead * back, etype, watch=watch, comp=comp, surf=np.full(len(remixes), FOR_YOU))
    # A third of the originals were made right after watching a post of the same topic.
    originals = np.flatnonzero((pop.post_remix_of < 0) & (rng.random(pop.n_posts) < 0.33))
    by_topic = {t: np.flatnonzero(pop.post_topic == t) for t in range(len(topics.LABELS))}
    inspiration = np.full(len(originals), -1)
    for t, pool in by_topic.items():
        rows = np.flatnonzero(pop.post_topic[originals] == t)
        if len(rows) == 0 or len(pool) == 0:
            continue
        hi = np.searchsorted(pool, originals[rows])
        pick = hi - 1 - rng.geometric(1 / 50, size=len(rows))
        ok = pick >= 0
        inspiration[rows[ok]] = pool[pick[ok]]
    keep = inspiration >= 0
    originals, inspiration = originals[keep], inspiration[keep]
    t_view = pop.post_time[originals] - rng.uniform(60, 3600, len(originals))
    who = pop.post_author[originals]
    ev.add(who, inspiration, t_view - 2, IMPRESSION, surf=np.full(len(who), FOR_YOU))
    comp = np.clip(0.6 + 0.4 * rng.random(len(who)), 0, 1)
    ev.add(
        who, inspiration, t_view, VIEW, watch=comp * VIDEO_SECONDS * 1000, comp=comp, surf=np.full(len(who), FOR_YOU)
    )
    base = sum(len(p) for p in ev.parts["user"])
    say(f"  {base:,} events before creations")

    # Impressions: ~1.95 events each on average (impression, view, then rarer actions).
    n_imp = max(0, int((target - base) / 1.97))
    activity = rng.lognormal(0, 1, pop.n_users)
    p_view = activity / activity.sum()
    has_posts = np.diff(pop.author_ptr) > 0
    author_w = pop.fame * has_posts
    p_author = author_w / author_w.sum()
    made = 0
    while made < n_imp:
        m = min(1_000_000, int((n_imp - made) * 1.15) + 1000)
        viewer = rng.choice(pop.n_users, size=m, p=p_view)
        kind = rng.choice(3, size=m, p=[0.35, 0.40, 0.25])
        post = rng.integers(0, pop.n_posts, size=m)  # "latest": any post
        # "following": a random post of a random account the viewer follows
        deg = pop.graph.out_degree()[viewer]
        social = (kind == 0) & (deg > 0)
        edge = pop.graph.ptr[viewer[social]] + (rng.random(int(social.sum())) * deg[social]).astype(np.int64)
        followee = pop.graph.dst[edge]
        count = pop.author_ptr[followee + 1] - pop.author_ptr[followee]
        ok = count > 0
        idx = np.flatnonzero(social)[ok]
        post[idx] = pop.author_posts[
            pop.author_ptr[followee[ok]] + (rng.random(int(ok.sum())) * count[ok]).astype(np.int64)
        ]
        kind[np.flatnonzero(social)[~ok]] = 2
        # "for you": a post of a famous account
        pop_rows = np.flatnonzero(kind == 1)
        a = rng.choice(pop.n_users, size=len(pop_rows), p=p_author)
        c = pop.author_ptr[a + 1] - pop.author_ptr[a]
        post[pop_rows] = pop.author_posts[pop.author_ptr[a] + (rng.random(len(pop_rows)) * c).astype(np.int64)]
        t = pop.post_time[post] + rng.exponential(DAY, m)
        valid = (t < now - 60) & (t > now - window) & (pop.post_author[post] != viewer) & pop.visible(viewer, post)
        viewer, post, t, kind = viewer[valid], post[valid], t[valid], kind[valid]
        take = min(len(viewer), n_imp - made)
        viewer, post, t, kind = viewer[:take], post[:take], t[:take], kind[:take]
        surface = np.choose(kind, [FOLLOWING, FOR_YOU, LATEST])
        position = rng.integers(0, 40, take)
        r = pop.respond(viewer, post)
        ev.add(viewer, post, t, IMPRESSION, surf=surface, pos=position)
        viewed = _add_views(ev, rng, viewer, post, t, r["completion"], surface, position)
        for etype, p, delay in (
            (LIKE, r["like"], 3),
            (COMMENT, r["like"] * 0.15, 8),
            (SHARE, r["like"] * 0.1, 9),
            (REMIX_STARTED, r["remix"], 10),
            (HIDE, r["hide"], 2),
            (REPORT, r["hide"] * 0.08, 4),
        ):
            hit = viewed & (rng.random(take) < p)
            ev.add(viewer[hit], post[hit], t[hit] + delay, etype, surf=surface[hit], pos=position[hit])
        made += take
        say(f"  impressions {made:,}/{n_imp:,}")
    pools = _explored_sessions(pop, ev, rng, sessions=min(20_000, pop.n_users), share=EXPLORE_SHARE)
    say(f"  {len(pools):,} for-you sessions with exploration (propensities on their impressions, pools logged)")
    return ev.finish() | {"pools": pools}


EXPLORE_SHARE = 0.1


def _explored_sessions(
    pop: Population,
    ev: Events,
    rng: np.random.Generator,
    *,
    sessions: int,
    share: float,
    pool: int = 60,
    slots: int = 20,
) -> list[tuple[int, float, np.ndarray, np.ndarray, np.ndarray]]:
    """For-you sessions logged the way the feed logs them (feed.ranking.explore): a pool of recent
    posts ranked by their author's fame, `share` of the slots drawn at random, each impression
    carrying its propensity; what the viewer does follows the behaviour model. As in the feed,
    a viewer's later session leaves out what their earlier ones showed (the seen memory), and
    each session's pool is kept as the feed keeps a sampled one (ranking.PoolLog; here every
    session): (viewer, built at, candidates in the logger's order, each slot's index into
    them, propensities). This is the log `eval_feed --offpolicy` reads."""
    from feed.ranking.explore import explore

    recent = np.flatnonzero((pop.post_time >= pop.now - 3 * DAY) & (pop.post_time < pop.now - 3600))
    if len(recent) < pool:
        return []
    activity = rng.lognormal(0, 1, pop.n_users)
    viewers = rng.choice(pop.n_users, size=sessions, p=activity / activity.sum())
    seen: dict[int, set[int]] = {}
    logged = []
    for u in viewers.tolist():
        cand = np.unique(recent[rng.integers(0, len(recent), pool)])
        cand = cand[pop.visible(np.full(len(cand), u), cand) & (pop.post_author[cand] != u)]
        if u in seen:
            cand = cand[~np.isin(cand, list(seen[u]))]
        if len(cand) < slots:
            continue
        order = np.argsort(-pop.fame[pop.post_author[cand]], kind="stable")
        shown = explore(order, len(cand), share, rng)
        posts = cand[shown.order[:slots]]
        seen.setdefault(u, set()).update(posts.tolist())
        t0 = rng.uniform(max(pop.post_time[posts].max() + 60, pop.now - 2 * DAY), pop.now - 120)
        place = np.empty(len(cand), dtype=np.int64)
        place[order] = np.arange(len(cand))
        # Built a second before its first impression; the slots' posts as indices into the pool.
        logged.append((u, t0 - 1.0, cand[order], place[shown.order[:slots]], shown.propensity[:slots]))
        t = t0 + 6.0 * np.arange(slots)
        position = np.arange(slots)
        surface = np.full(slots, FOR_YOU)
        ev.add(np.full(slots, u), posts, t, IMPRESSION, surf=surface, pos=position, prop=shown.propensity[:slots])
        r = pop.respond(np.full(slots, u), posts)
        viewed = _add_views(ev, rng, np.full(slots, u), posts, t, r["completion"], surface, position)
        for etype, p, delay in ((LIKE, r["like"], 3), (REMIX_STARTED, r["remix"], 4), (HIDE, r["hide"], 2)):
            hit = viewed & (rng.random(slots) < p)
            ev.add(np.full(int(hit.sum()), u), posts[hit], t[hit] + delay, etype, surf=surface[hit], pos=position[hit])
    return logged


def _copy_pool_logs(conn: psycopg.Connection, pools: list) -> None:
    """The sessions' pools as ranking_poollog rows (population ids + 1, as everywhere)."""
    if not pools:
        return

    def array(values) -> str:
        return "{" + ",".join(map(str, values)) + "}"

    copy_text(
        conn,
        "ranking_poollog",
        {
            "user_id": np.array([u + 1 for u, *_ in pools], dtype=np.int64),
            "session": [f"bench{i}" for i in range(len(pools))],
            "created_at": iso(np.array([t for _, t, *_ in pools])),
            "model": "bench-fame",
            "explore_share": EXPLORE_SHARE,
            "candidates": [array((c + 1).tolist()) for _, _, c, _, _ in pools],
            "shown": [array(k.tolist()) for *_, k, _ in pools],
            "propensity": [array(np.round(p, 7).tolist()) for *_, p in pools],
        },
        len(pools),
    )


def event_chunks(ev: dict, rng: np.random.Generator) -> Iterator[bytes]:
    """Binary COPY tuples of feed_engagementevent, time-ordered in chunks (views carry watch
    time and completion, explored for-you impressions their propensity; other events NULL there,
    as the ingest stores them)."""
    n = len(ev["user"])
    for start in range(0, n, CHUNK):
        s = slice(start, min(n, start + CHUNK))
        t = ev["t"][s]
        is_view_row = ev["type"][s] == VIEW
        has_prop = ~np.isnan(ev["prop"][s])
        for is_view, with_prop in ((True, False), (False, False), (False, True)):
            rows = np.flatnonzero((is_view_row == is_view) & (has_prop == with_prop))
            if not len(rows):
                continue
            m = len(rows)
            uuid = np.frombuffer(rng.bytes(16 * m), dtype=np.uint8).reshape(m, 16).copy()
            uuid[:, 6] = (uuid[:, 6] & 0x0F) | 0x40
            uuid[:, 8] = (uuid[:, 8] & 0x3F) | 0x80
            yield encode_rows(
                [
                    BinCol("int8", ev["user"][s][rows].astype(np.int64) + 1),
                    BinCol("int8", ev["post"][s][rows].astype(np.int64) + 1),
                    BinCol("ts", t[rows]),
                    BinCol("ts", t[rows] + 0.5),
                    BinCol("uuid", uuid),
                    BinCol("int4", ev["watch"][s][rows]) if is_view else None,
                    BinCol("float4", ev["comp"][s][rows]) if is_view else None,
                    BinCol("int2", ev["type"][s][rows]),
                    BinCol("int2", ev["surf"][s][rows]),
                    BinCol("int2", ev["pos"][s][rows]),
                    BinCol("float4", ev["prop"][s][rows]) if with_prop else None,
                ]
            )


EVENT_COLUMNS = [
    "user_id",
    "post_id",
    "occurred_at",
    "received_at",
    "event_id",
    "watch_ms",
    "completion",
    "type",
    "surface",
    "position",
    "propensity",
]


def _complete(conn: psycopg.Connection, table: str, data: dict) -> dict:
    """Fill NOT NULL columns this seeder does not know (another app added them since) with a
    neutral value of their type, so the seed keeps working while the schema grows."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
                 AND is_identity = 'NO'""",
            [table],
        )
        for name, kind in cur.fetchall():
            if name in data:
                continue
            if kind in ("character varying", "text"):
                data[name] = ""
            elif kind in ("integer", "bigint", "smallint", "double precision", "real", "numeric"):
                data[name] = 0
            elif kind == "boolean":
                data[name] = "f"
            elif kind == "jsonb":
                data[name] = "{}"
            elif kind.startswith("timestamp"):
                data[name] = "2026-01-01T00:00:00+00:00"
            else:
                raise RuntimeError(f"seed_feed_bench cannot fill {table}.{name} ({kind}); teach benchseed._complete")
    return data


# The tables loaded in bulk: their indexes and constraints are dropped for the COPY and put back
# after (the event log loses its primary key too: nothing references it).
BULK_TABLES = [
    "users_follow",
    "cameos_cameo",
    "generation_video",
    "feed_post",
    "feed_postcameo",
    "feed_like",
    "feed_hide",
    "ranking_postembedding",
    "ranking_poststats",
    "ranking_reportedpost",
]
COUNTED_TABLES = ("users_user", "users_follow", "feed_post", "feed_engagementevent", "ranking_postembedding")


class _Laps:
    """Wall seconds of each seeding step, said as it ends and kept for the summary."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.timings: dict[str, float] = {}
        self._since = time.monotonic()

    def done(self, name: str) -> None:
        self.timings[name] = round(time.monotonic() - self._since, 1)
        self.say(f"[seed] {name}: {self.timings[name]} s")
        self._since = time.monotonic()


def seed(
    url: str,
    *,
    users: int,
    posts: int,
    events: int,
    seed_value: int = 1,
    clients: int = 1000,
    say: Callable[[str], None] = print,
    migrate: Callable[[str], None] | None = None,
) -> dict:
    """Recreate the database at `url` and load a population of `users`, `posts` and about
    `events` engagement events. The steps run in a fixed order: they share one random stream,
    so a seed value always gives the same database."""
    started = time.monotonic()
    laps = _Laps(say)
    say(f"[seed] recreating {url.rsplit('/', 1)[-1]} and migrating ...")
    recreate_database(url)
    if migrate is not None:
        migrate(url)
    laps.done("create_and_migrate")
    now = time.time()
    pop = make_population(users, posts, seed=seed_value, now=now, days=30, progress=lambda m: say(f"  {m}"))
    rng = np.random.default_rng(seed_value + 7)
    laps.done("population")
    ev = generate_events(pop, events, rng, say)
    laps.done("events_generated")

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '1GB'")
    saved = [strip_table(conn, table) for table in BULK_TABLES]
    saved.append(strip_table(conn, "feed_engagementevent", keep_primary=False))
    _copy_users(conn, pop, now)
    _copy_follows(conn, pop, now)
    laps.done("users_and_follows")
    cameo_of = _copy_cameos(conn, pop, now)
    _copy_videos(conn, pop)
    laps.done("cameos_and_videos")
    _copy_posts(conn, pop, ev, rng, cameo_of)
    laps.done("posts")
    _copy_likes_and_hides(conn, pop, ev, now)
    _copy_embeddings(conn, pop, now)
    laps.done("likes_hides_embeddings")
    copy_binary(conn, "feed_engagementevent", EVENT_COLUMNS, event_chunks(ev, rng))
    _copy_pool_logs(conn, ev["pools"])
    laps.done("events_copied")
    _fold_post_stats(conn)
    laps.done("post_stats")
    say("[seed] restoring keys, indexes and constraints ...")
    restore(conn, saved, say=lambda m: None)
    laps.done("indexes_and_constraints")
    conn.execute("VACUUM ANALYZE")
    laps.done("vacuum_analyze")

    clients_info = _tokens(conn, pop, rng, clients, now)
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED_TABLES}
    conn.close()
    summary = {
        "database": url.rsplit("/", 1)[-1],
        "rows": counts,
        "database_bytes": size,
        "seconds": round(time.monotonic() - started, 1),
        "timings_s": laps.timings,
        "clients": clients_info,
        "max_followers": int(pop.graph.in_degree().max()),
        "max_following": int(pop.graph.out_degree().max()),
        "max_posts_per_author": int(np.diff(pop.author_ptr).max()),
    }
    say(f"[seed] done in {summary['seconds']} s: {json.dumps(counts)}, {size / 1e9:.2f} GB")
    return summary


def _copy_users(conn: psycopg.Connection, pop: Population, now: float) -> None:
    """User i of the population is users_user id i+1; minors get a 2011 birth date."""
    U = pop.n_users
    uid = np.arange(1, U + 1)
    copy_text(
        conn,
        "users_user",
        _complete(
            conn,
            "users_user",
            {
                "id": uid,
                "password": "!bench-unusable",
                "is_superuser": "f",
                "handle": [f"bench{i}" for i in uid.tolist()],
                "email": "",
                "display_name": [f"Bench {i}" for i in uid.tolist()],
                "bio": "",
                "avatar": "",
                "date_of_birth": np.where(pop.is_minor, "2011-06-01", "1995-06-01"),
                "timezone": "UTC",
                "is_active": "t",
                "is_staff": "f",
                "created_at": iso(np.full(U, now - 60 * DAY)),
            },
        ),
        U,
    )
    reset_sequence(conn, "users_user")


def _copy_follows(conn: psycopg.Connection, pop: Population, now: float) -> None:
    g = pop.graph
    ne = len(g.src)
    copy_binary(
        conn,
        "users_follow",
        ["id", "created_at", "followee_id", "follower_id"],
        (
            encode_rows(
                [
                    BinCol("int8", np.arange(s + 1, min(ne, s + CHUNK) + 1)),
                    BinCol("ts", np.full(min(ne, s + CHUNK) - s, now - 45 * DAY)),
                    BinCol("int8", g.dst[s : s + CHUNK].astype(np.int64) + 1),
                    BinCol("int8", g.src[s : s + CHUNK].astype(np.int64) + 1),
                ]
            )
            for s in range(0, ne, CHUNK)
        ),
    )
    reset_sequence(conn, "users_follow")


def _copy_cameos(conn: psycopg.Connection, pop: Population, now: float) -> np.ndarray:
    """One active person cameo per user who has one; returns each user's cameo id (-1: none)."""
    owners = np.flatnonzero(pop.has_cameo)
    cameo_of = np.full(pop.n_users, -1, dtype=np.int64)
    cameo_of[owners] = np.arange(1, len(owners) + 1)
    made = iso(np.full(len(owners), now - 50 * DAY))
    copy_text(
        conn,
        "cameos_cameo",
        _complete(
            conn,
            "cameos_cameo",
            {
                "id": np.arange(1, len(owners) + 1),
                "kind": "person",
                "name": [f"bench{i + 1}" for i in owners.tolist()],
                "display_name": [f"Bench {i + 1}" for i in owners.tolist()],
                "description": "",
                "aliases": "[]",
                "status": "active",
                "rejection_code": "",
                "rejection_reason": "",
                "audience": "everyone",
                "instructions": "",
                "restrictions": "[]",
                "clip_path": "",
                "embedding_version": "",
                "verification": "{}",
                "created_at": made,
                "updated_at": made,
                "verified_at": made,
                "owner_id": owners + 1,
            },
        ),
        len(owners),
    )
    reset_sequence(conn, "cameos_cameo")
    return cameo_of


def _copy_videos(conn: psycopg.Connection, pop: Population) -> None:
    """One ready video per post (post j and its video are both id j+1), all the same file."""
    P = pop.n_posts
    copy_text(
        conn,
        "generation_video",
        _complete(
            conn,
            "generation_video",
            {
                "id": np.arange(1, P + 1),
                "source": "generated",
                "status": "ready",
                "file": "bench/clip.mp4",
                "thumbnail": "bench/thumb.jpg",
                "content_type": "video/mp4",
                "size_bytes": 1_200_000,
                "sha256": "0" * 64,
                "duration_s": VIDEO_SECONDS,
                "width": 720,
                "height": 1280,
                "frame_count": 240,
                "fps": 24.0,
                "codec": "h264",
                "has_audio": "f",
                "taken_down_reason": "",
                "created_at": iso(pop.post_time),
                "created_by_id": pop.post_author.astype(np.int64) + 1,
            },
        ),
        P,
    )
    reset_sequence(conn, "generation_video")


def _copy_posts(
    conn: psycopg.Connection, pop: Population, ev: dict, rng: np.random.Generator, cameo_of: np.ndarray
) -> None:
    """Posts with lineage, audience, remix permission and the like/comment/share counters the
    log implies (half a percent deleted by their authors), then the cameos they feature."""
    P = pop.n_posts
    pid = np.arange(1, P + 1)
    created = iso(pop.post_time)
    likes = np.bincount(ev["post"][ev["type"] == LIKE], minlength=P)
    comments = np.bincount(ev["post"][ev["type"] == COMMENT], minlength=P)
    shares = np.bincount(ev["post"][ev["type"] == SHARE], minlength=P)
    deleted = rng.random(P) < 0.005
    labels = np.array(topics.LABELS)[pop.post_topic]
    copy_text(
        conn,
        "feed_post",
        _complete(
            conn,
            "feed_post",
            {
                "id": pid,
                "caption": [
                    f"{lab.replace('_', ' ')} clip {i}" for lab, i in zip(labels.tolist(), pid.tolist(), strict=True)
                ],
                "visibility": np.array(VISIBILITY)[pop.post_visibility],
                "remix_permission": np.array(REMIX_PERMISSION)[pop.post_remix_perm],
                "depth": pop.post_depth,
                "remix_count": pop.remix_count,
                "descendant_count": pop.descendant_count,
                "like_count": likes,
                "comment_count": comments,
                "share_count": shares,
                "created_at": created,
                "deleted_at": [c if d else None for c, d in zip(created.tolist(), deleted.tolist(), strict=True)],
                "delete_kind": np.where(deleted, "author", ""),
                "delete_reason": "",
                "author_id": pop.post_author.astype(np.int64) + 1,
                "remix_of_id": [None if r < 0 else r + 1 for r in pop.post_remix_of.tolist()],
                "root_id": pop.post_root.astype(np.int64) + 1,
                "video_id": pid,
            },
        ),
        P,
    )
    reset_sequence(conn, "feed_post")
    rows = np.flatnonzero(pop.post_cameo_owner >= 0)
    copy_text(
        conn,
        "feed_postcameo",
        {
            "id": np.arange(1, len(rows) + 1),
            "created_at": created[rows],
            "cameo_id": cameo_of[pop.post_cameo_owner[rows]],
            "post_id": rows + 1,
        },
        len(rows),
    )
    reset_sequence(conn, "feed_postcameo")


def _copy_likes_and_hides(conn: psycopg.Connection, pop: Population, ev: dict, now: float) -> None:
    """A Like (Hide) row for every distinct (user, post) with a like (hide) event in the log."""
    P = pop.n_posts
    for table, etype in (("feed_like", LIKE), ("feed_hide", HIDE)):
        sel = ev["type"] == etype
        code = np.unique(ev["user"][sel].astype(np.int64) * P + ev["post"][sel])
        copy_text(
            conn,
            table,
            {
                "id": np.arange(1, len(code) + 1),
                "created_at": iso(np.full(len(code), now - DAY)),
                "user_id": code // P + 1,
                "post_id": code % P + 1,
            },
            len(code),
        )
        reset_sequence(conn, table)


def _copy_embeddings(conn: psycopg.Connection, pop: Population, now: float) -> None:
    P = pop.n_posts

    def chunks() -> Iterator[bytes]:
        for s in range(0, P, CHUNK // 2):
            idx = np.arange(s, min(P, s + CHUNK // 2))
            vec = pop.vectors(idx).astype(np.float16).view(np.uint8).reshape(len(idx), -1)
            yield encode_rows(
                [
                    BinCol("int8", idx + 1),
                    BinCol("bytes", vec),
                    BinCol("int2", pop.post_topic[idx]),
                    BinCol("int4", pop.post_seq[idx]),
                    BinCol("ts", pop.post_time[idx]),
                    BinCol("bytes", np.zeros((len(idx), 0), dtype=np.uint8)),
                    BinCol("ts", np.full(len(idx), now)),
                ]
            )

    copy_binary(
        conn,
        "ranking_postembedding",
        ["post_id", "vector", "topic", "author_seq", "post_created_at", "text_sha", "computed_at"],
        chunks(),
    )


def _fold_post_stats(conn: psycopg.Connection) -> None:
    """The whole log folded into the post counters and reported posts by the production
    statements (the ones `stats_refresh` runs), then the watermark set where the fold stopped."""
    from feed.ranking.services.stats import REPORTS_FOLD_SQL, STATS_FOLD_SQL, STATS_LAG, STATS_WATERMARK

    for fold in (STATS_FOLD_SQL, REPORTS_FOLD_SQL):
        conn.execute(
            fold.replace("%(lo)s", "'-infinity'::timestamptz")
            .replace("%(hi)s", "'infinity'::timestamptz")
            .replace("%(now)s", "now()")
        )
    conn.execute("INSERT INTO ranking_watermark (name, at) VALUES (%s, now() - %s)", [STATS_WATERMARK, STATS_LAG])


def _tokens(conn: psycopg.Connection, pop: Population, rng: np.random.Generator, clients: int, now: float) -> dict:
    """Bearer tokens for benchmark clients: typical users, accounts that follow thousands,
    minors. Secrets go to var/bench/feed_tokens.json (the database keeps only digests)."""
    out = pop.graph.out_degree()
    typical = rng.choice(np.flatnonzero((out >= 5) & (out < 2000) & ~pop.is_minor), size=clients, replace=False)
    heavy = np.flatnonzero(out >= 2000)
    minors = rng.choice(np.flatnonzero(pop.is_minor & (out >= 5)), size=min(50, int(pop.is_minor.sum())), replace=False)
    chosen = (
        [("typical", int(u)) for u in typical]
        + [("heavy", int(u)) for u in heavy]
        + [("minor", int(u)) for u in minors]
    )
    rows = []
    for _kind, u in chosen:
        secret = "ss_" + secrets.token_urlsafe(32)
        rows.append((u + 1, secret))
    copy_text(
        conn,
        "users_authtoken",
        _complete(
            conn,
            "users_authtoken",
            {
                "digest": [hashlib.sha256(s.encode()).hexdigest() for _, s in rows],
                "prefix": [s[:10] for _, s in rows],
                "name": "bench",
                "created_at": iso(np.full(len(rows), now)),
                "expires_at": iso(np.full(len(rows), now + 30 * DAY)),
                "user_id": [u for u, _ in rows],
            },
        ),
        len(rows),
    )
    TOKENS_PATH.parent.mkdir(parents=True, exist_ok=True)
    payload = [
        {"kind": kind, "user_id": u, "secret": s, "following": int(out[u - 1])}
        for (kind, _), (u, s) in zip(chosen, rows, strict=True)
    ]
    TOKENS_PATH.write_text(json.dumps(payload))
    os.chmod(TOKENS_PATH, 0o600)
    return {k: sum(1 for c in chosen if c[0] == k) for k in ("typical", "heavy", "minor")}
