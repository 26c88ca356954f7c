"""Following/friends at scale: pull (what ships) against push (a fan-out inbox), measured.

On the feed benchmark database (see bench_feed_latency; 100,000 users, 1,000,000 posts,
3.5 M follows with accounts following up to ~4,000 and authors followed by up to ~77,000):

Pull, as shipped (`feed.ranking.selectors.pull_ids`): per viewer, the next page of post ids
by followed accounts, with each strategy —
  lateral  one probe of the (author_id, created_at desc) index per followed account, merged;
  scan     walk the newest posts (partial index on created_at desc) keeping followed authors;
  auto     lateral up to FEED_RANKING["PULL_SCAN_FOLLOWS"] follows, scan above (the default).
Viewers are bucketed by how many accounts they follow; first page and a deep page (after
200 posts) are timed, 21 ids each (a 20-post page plus one to know there is more).

Push, measured on a scratch table (dropped afterwards): an inbox row (owner, created_at,
post, author) per follower of each post of the last 7 days, primary key (owner, created_at,
post); its size, the time to build it, the read of a page, and the write cost of fanning
out one new post for an ordinary author and for the most-followed one.

    .venv/bin/python -m benchmarks.run_all feed_fanout
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUCKETS = [(0, 50), (50, 400), (400, 2000), (2000, 10**9)]
PER_BUCKET = int(os.environ.get("FEED_FANOUT_VIEWERS", "40"))
PAGE = 21


def main() -> None:
    from benchmarks.bench_feed_latency import bench_env, ensure_seeded

    env = bench_env()
    ensure_seeded(env)
    subprocess.run([sys.executable, "-m", "benchmarks.bench_feed_fanout", "--measure"], cwd=ROOT, env=env, check=True)


def _time(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure() -> None:
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.db import connection

    from benchmarks.common import percentile, write_result
    from feed.ranking.selectors import TOP, pull_ids
    from sora_social.users.models import User

    rng = np.random.default_rng(5)
    with connection.cursor() as c:
        c.execute("SELECT follower_id, count(*) FROM users_follow GROUP BY follower_id")
        degree = dict(c.fetchall())
    viewers = {}
    ids = np.array(list(degree))
    counts = np.array([degree[i] for i in ids.tolist()])
    for lo, hi in BUCKETS:
        pool = ids[(counts >= max(lo, 1)) & (counts < hi)]
        viewers[(lo, hi)] = rng.choice(pool, size=min(PER_BUCKET, len(pool)), replace=False).tolist()

    metrics: dict[str, float] = {}
    units: dict[str, str] = {}
    # Warm the caches once per viewer (a server's steady state), then time.
    for users in viewers.values():
        for uid in users:
            pull_ids(user=User(pk=uid), ts=TOP, post_id=2**62, n=PAGE, friends_only=False, strategy="scan")
    for (lo, hi), users in viewers.items():
        name = f"follows_{lo}_{hi if hi < 10**9 else 'plus'}"
        for strategy in ("lateral", "scan", "auto"):
            first, deep = [], []
            for uid in users:
                user = User(pk=uid)
                s = None if strategy == "auto" else strategy
                first.append(
                    _time(
                        lambda u=user, s=s: pull_ids(
                            user=u, ts=TOP, post_id=2**62, n=PAGE, friends_only=False, strategy=s
                        ),
                        2,
                    )
                )
                page = pull_ids(user=user, ts=TOP, post_id=2**62, n=200, friends_only=False, strategy="scan")
                if len(page) == 200:
                    ts, pid = page[-1][1], page[-1][0]
                    deep.append(
                        _time(
                            lambda u=user, s=s, ts=ts, pid=pid: pull_ids(
                                user=u, ts=ts, post_id=pid, n=PAGE, friends_only=False, strategy=s
                            ),
                            2,
                        )
                    )
            for label, values in (("first_page", first), ("deep_page", deep)):
                if values:
                    for q in (50, 95):
                        key = f"pull_{strategy}_{name}_{label}_p{q}_ms"
                        metrics[key] = round(percentile(values, q), 2)
                        units[key] = "ms"
        print(f"[fanout] pull measured for {name}", flush=True)

    # Push: a scratch inbox of the last 7 days, fanned out to every follower.
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_feed_inbox")
        c.execute(
            "CREATE UNLOGGED TABLE bench_feed_inbox (owner_id bigint, created_at timestamptz, post_id bigint, "
            "author_id bigint)"
        )
        c.execute("SET maintenance_work_mem = '512MB'")
        started = time.perf_counter()
        c.execute(
            "INSERT INTO bench_feed_inbox SELECT f.follower_id, p.created_at, p.id, p.author_id "
            "FROM feed_post p JOIN users_follow f ON f.followee_id = p.author_id "
            "WHERE p.created_at >= now() - interval '7 days' AND p.deleted_at IS NULL"
        )
        rows = c.rowcount
        c.execute("ALTER TABLE bench_feed_inbox ADD PRIMARY KEY (owner_id, created_at, post_id)")
        c.execute("VACUUM ANALYZE bench_feed_inbox")
        build_s = time.perf_counter() - started
        c.execute("SELECT pg_total_relation_size('bench_feed_inbox')")
        size = c.fetchone()[0]
        c.execute("SELECT count(*) FROM feed_post WHERE created_at >= now() - interval '7 days'")
        posts_7d = c.fetchone()[0]
    metrics.update(
        {
            "push_inbox_rows_7d": rows,
            "push_inbox_bytes_7d": size,
            "push_inbox_build_s": round(build_s, 1),
            "push_posts_7d": posts_7d,
            "push_rows_per_post": round(rows / max(1, posts_7d), 1),
        }
    )
    units.update(
        {
            "push_inbox_rows_7d": "rows",
            "push_inbox_bytes_7d": "bytes",
            "push_inbox_build_s": "s",
            "push_posts_7d": "posts",
            "push_rows_per_post": "rows",
        }
    )
    read_sql = (
        "SELECT post_id FROM bench_feed_inbox WHERE owner_id = %s AND (created_at, post_id) < (%s, %s) "
        "ORDER BY created_at DESC, post_id DESC LIMIT 21"
    )
    with connection.cursor() as c:
        for (lo, hi), users in viewers.items():
            name = f"follows_{lo}_{hi if hi < 10**9 else 'plus'}"
            times = []
            for uid in users:
                c.execute(read_sql, [uid, TOP, 2**62])
                times.append(_time(lambda uid=uid: (c.execute(read_sql, [uid, TOP, 2**62]), c.fetchall()), 2))
            for q in (50, 95):
                metrics[f"push_read_{name}_first_page_p{q}_ms"] = round(percentile(times, q), 2)
                units[f"push_read_{name}_first_page_p{q}_ms"] = "ms"
        # The write side: one new post fanned out (inside a transaction that is rolled back).
        c.execute("SELECT followee_id, count(*) AS n FROM users_follow GROUP BY followee_id ORDER BY n DESC LIMIT 1")
        star, star_followers = c.fetchone()
        c.execute(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM "
            "(SELECT count(*) AS n FROM users_follow GROUP BY followee_id) x"
        )
        median_followers = c.fetchone()[0]
        c.execute(
            "SELECT followee_id FROM users_follow GROUP BY followee_id HAVING count(*) = %s LIMIT 1", [median_followers]
        )
        typical = c.fetchone()[0]
    for label, author, followers in (
        ("median_author", typical, median_followers),
        ("top_author", star, star_followers),
    ):
        times = []
        for _ in range(3):
            with connection.cursor() as c:
                c.execute("BEGIN")
                started = time.perf_counter()
                c.execute(
                    "INSERT INTO bench_feed_inbox SELECT f.follower_id, now(), 9000000000 + %s, %s "
                    "FROM users_follow f WHERE f.followee_id = %s",
                    [len(times), author, author],
                )
                times.append((time.perf_counter() - started) * 1000)
                c.execute("ROLLBACK")
        metrics[f"push_fanout_{label}_ms"] = round(float(np.median(times)), 1)
        metrics[f"push_fanout_{label}_followers"] = followers
        units[f"push_fanout_{label}_ms"] = "ms"
        units[f"push_fanout_{label}_followers"] = "followers"
    with connection.cursor() as c:
        c.execute("DROP TABLE bench_feed_inbox")
    path = write_result(
        "feed_fanout",
        params={
            "database": settings.DATABASES["default"]["NAME"],
            "viewers_per_bucket": PER_BUCKET,
            "buckets_by_follow_count": [list(b) for b in BUCKETS],
            "page_ids": PAGE,
            "auto_threshold_follows": settings.FEED_RANKING["PULL_SCAN_FOLLOWS"],
            "inbox_window_days": 7,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "note": "times are server-side query round trips from one in-process client, warm caches",
        },
        metrics=metrics,
        units=units,
    )
    print(json.dumps(metrics, indent=2))
    print(f"[fanout] wrote {path}")


if __name__ == "__main__":
    if "--measure" in sys.argv:
        measure()
    else:
        main()
