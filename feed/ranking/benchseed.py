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
from feed.ranking.pgcopy import (
    BinCol,
    SavedSchema,
    copy_binary,
    copy_text,
    encode_rows,
    iso,
    reset_sequence,
    restore,
    strip_table,
)
from feed.ranking.synthetic import DAY, REMIX_PERMISSION, VIDEO_SECONDS, VISIBILITY, Population, make_population

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
            k: [] for k in ("user", "post", "t", "type", "watch", "comp", "surf", "pos")
        }

    def add(self, user, post, t, etype, *, watch=None, comp=None, surf=None, pos=None) -> None:
        n = len(user)
        self.parts["user"].append(np.asarray(user, dtype=np.int32))
        self.parts["post"].append(np.asarray(post, dtype=np.int32))
        self.parts["t"].append(np.asarray(t, dtype=np.float64))
        self.parts["type"].append(np.full(n, etype, dtype=np.int16) if np.isscalar(etype) else etype.astype(np.int16))
        self.parts["watch"].append(np.zeros(n, np.int32) if watch is None else watch.astype(np.int32))
        self.parts["comp"].append(np.zeros(n, np.float32) if comp is None else comp.astype(np.float32))
        self.parts["surf"].append(np.zeros(n, np.int16) if surf is None else surf.astype(np.int16))
        self.parts["pos"].append(np.zeros(n, np.int16) if pos is None else pos.astype(np.int16))

    def finish(self) -> dict[str, np.ndarray]:
        cols = {k: np.concatenate(v) for k, v in self.parts.items()}
        order = np.argsort(cols["t"], kind="stable")
        return {k: v[order] for k, v in cols.items()}


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
        viewed = rng.random(take) < 0.85
        comp = np.clip(r["completion"] + rng.normal(0, 0.15, take), 0, 1)
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
    return ev.finish()


def event_chunks(ev: dict, rng: np.random.Generator) -> Iterator[bytes]:
    """Binary COPY tuples of feed_engagementevent, time-ordered in chunks (views carry watch
    time and completion; other events NULL there, as the ingest stores them)."""
    n = len(ev["user"])
    for start in range(0, n, CHUNK):
        s = slice(start, min(n, start + CHUNK))
        t = ev["t"][s]
        for is_view in (True, False):
            rows = np.flatnonzero((ev["type"][s] == VIEW) == is_view)
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
    from sora_social.demo.database import recreate_database

    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        timings[name] = round(time.monotonic() - since, 1)
        say(f"[seed] {name}: {timings[name]} s")
        return time.monotonic()

    t = time.monotonic()
    say(f"[seed] recreating {url.rsplit('/', 1)[-1]} and migrating ...")
    recreate_database(url)
    if migrate is not None:
        migrate(url)
    t = lap("create_and_migrate", t)
    now = time.time()
    pop = make_population(users, posts, seed=seed_value, now=now, days=30, progress=lambda m: say(f"  {m}"))
    rng = np.random.default_rng(seed_value + 7)
    t = lap("population", t)
    ev = generate_events(pop, events, rng, say)
    t = lap("events_generated", t)

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '1GB'")
    big = [
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
    saved: list[SavedSchema] = [strip_table(conn, table) for table in big]
    saved.append(strip_table(conn, "feed_engagementevent", keep_primary=False))

    U, P = pop.n_users, pop.n_posts
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
    t = lap("users_and_follows", t)

    owners = np.flatnonzero(pop.has_cameo)
    cameo_of = np.full(U, -1, dtype=np.int64)
    cameo_of[owners] = np.arange(1, len(owners) + 1)
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
                "created_at": iso(np.full(len(owners), now - 50 * DAY)),
                "updated_at": iso(np.full(len(owners), now - 50 * DAY)),
                "verified_at": iso(np.full(len(owners), now - 50 * DAY)),
                "owner_id": owners + 1,
            },
        ),
        len(owners),
    )
    reset_sequence(conn, "cameos_cameo")

    pid = np.arange(1, P + 1)
    created = iso(pop.post_time)
    copy_text(
        conn,
        "generation_video",
        _complete(
            conn,
            "generation_video",
            {
                "id": pid,
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
                "created_at": created,
                "created_by_id": pop.post_author.astype(np.int64) + 1,
            },
        ),
        P,
    )
    reset_sequence(conn, "generation_video")
    t = lap("cameos_and_videos", t)

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
    t = lap("posts", t)

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

    def embedding_chunks() -> Iterator[bytes]:
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
        embedding_chunks(),
    )
    t = lap("likes_hides_embeddings", t)
    copy_binary(conn, "feed_engagementevent", EVENT_COLUMNS, event_chunks(ev, rng))
    t = lap("events_copied", t)

    from feed.ranking.services import _REPORTS_FOLD_SQL, _STATS_FOLD_SQL, STATS_LAG, STATS_WATERMARK

    for fold in (_STATS_FOLD_SQL, _REPORTS_FOLD_SQL):
        conn.execute(
            fold.replace("%(lo)s", "'-infinity'::timestamptz")
            .replace("%(hi)s", "'infinity'::timestamptz")
            .replace("%(now)s", "now()")
        )
    conn.execute(
        "INSERT INTO ranking_watermark (name, at) VALUES (%s, now() - %s)",
        [STATS_WATERMARK, STATS_LAG],
    )
    t = lap("post_stats", t)
    say("[seed] restoring keys, indexes and constraints ...")
    restore(conn, saved, say=lambda m: None)
    t = lap("indexes_and_constraints", t)
    conn.execute("VACUUM ANALYZE")
    t = lap("vacuum_analyze", t)

    clients_info = _tokens(conn, pop, rng, clients, now)
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("users_user", "users_follow", "feed_post", "feed_engagementevent", "ranking_postembedding")
    }
    conn.close()
    summary = {
        "database": url.rsplit("/", 1)[-1],
        "rows": counts,
        "database_bytes": size,
        "seconds": round(time.monotonic() - started, 1),
        "timings_s": timings,
        "clients": clients_info,
        "max_followers": int(pop.graph.in_degree().max()),
        "max_following": int(pop.graph.out_degree().max()),
        "max_posts_per_author": int(np.diff(pop.author_ptr).max()),
    }
    say(f"[seed] done in {summary['seconds']} s: {json.dumps(counts)}, {size / 1e9:.2f} GB")
    return summary


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
