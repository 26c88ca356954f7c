"""Engagement-event ingestion through the real HTTP endpoint (target: >= 5,000 events/s), and
the storage shape of the log at scale (size per row, time-range scans with BRIN vs a b-tree).

Part 1 starts a daphne server on a throw-away database (`<db>_bench_events`, dropped
afterwards) and has several client threads post 500-event batches to POST /api/v1/events
with real bearer tokens, then sends some batches again to time the dedupe path.

Part 2 fills a scratch table of the log's exact shape with synthetic rows (5 M by default,
BENCH_EVENTS_STORAGE_ROWS to change) spread over 30 days, and measures bytes per row and
the time to scan one hour and one day by `received_at` with the BRIN index, with a b-tree
instead, and with neither. docs/posts.md quotes the numbers.

    .venv/bin/python -m benchmarks.run_all events
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import bench_database_env

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
USERS = 40
POSTS = 300
BATCH = 500
BATCHES = 240  # 120,000 events
THREADS = 4
RESENT = 20
STORAGE_ROWS = int(os.environ.get("BENCH_EVENTS_STORAGE_ROWS", "5000000"))
SEED = 20261122


def main() -> None:
    """Fresh database, measure in a child process (its own Django settings), drop the database."""
    from sora_social.demo.database import migrate, recreate_database

    env = bench_database_env("_bench_events")
    print(f"[events] preparing {env['DATABASE_URL'].rsplit('/', 1)[-1]} ...", flush=True)
    recreate_database(env["DATABASE_URL"])
    try:
        migrate(env)
        subprocess.run([sys.executable, "-m", "benchmarks.bench_events", "--measure"], cwd=ROOT, env=env, check=True)
    finally:
        _drop(env["DATABASE_URL"])


def _drop(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/"))))


def _seed() -> tuple[list[str], list[int]]:
    from feed import services
    from generation.models import Video
    from sora_social.users.models import User
    from sora_social.users.services import token_issue

    users = [User.objects.create_user(f"bench{i}", password=None) for i in range(USERS)]
    tokens = [token_issue(user=u, name="bench")[1] for u in users]
    post_ids = []
    for i in range(POSTS):
        author = users[i % USERS]
        video = Video.objects.create(
            created_by=author,
            file=f"bench/clip{i}.mp4",
            size_bytes=1,
            sha256="0" * 64,
            duration_s=8.0,
            width=720,
            height=1280,
            frame_count=192,
            fps=24.0,
        )
        post_ids.append(services.post_create(author=author, video=video).pk)
    return tokens, post_ids


_TYPES = (
    ["impression"] * 55
    + ["view"] * 30
    + ["like"] * 5
    + ["share", "comment", "hide", "remix_started"] * 2
    + [
        "remix_posted",
        "report",
    ]
)
_SURFACES = ["for_you", "following", "latest", "profile", "chain"]


def _batch(rng: random.Random, post_ids: list[int], now: datetime) -> list[dict]:
    events = []
    for _ in range(BATCH):
        kind = rng.choice(_TYPES)
        event = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": kind,
            "post_id": rng.choice(post_ids),
            "at": (now - timedelta(seconds=rng.randrange(0, 3600))).isoformat(),
            "surface": rng.choice(_SURFACES),
            "position": rng.randrange(0, 50),
        }
        if kind == "view":
            event["watch_ms"] = rng.randrange(200, 30_000)
            event["completion"] = round(rng.random(), 3)
        events.append(event)
    return events


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import httpx

    from sora_social.demo.stack import free_port

    port = free_port()
    log = open(ROOT / "var" / "bench-events-daphne.log", "wb")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "sora_social.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # the server loads its models before it is ready
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("daphne exited; see var/bench-events-daphne.log")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("daphne did not come up")


def _post_all(base: str, jobs: list[tuple[str, bytes]], threads: int) -> tuple[float, list[float], list[dict]]:
    import httpx

    latencies: list[float] = []
    answers: list[dict] = []
    lock = threading.Lock()
    index = iter(range(len(jobs)))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                with lock:
                    i = next(index, None)
                if i is None:
                    return
                token, body = jobs[i]
                t0 = time.perf_counter()
                response = client.post(
                    "/api/v1/events",
                    content=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    raise RuntimeError(f"events answered {response.status_code}: {response.text[:300]}")
                with lock:
                    latencies.append(elapsed * 1000)
                    answers.append(response.json())

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started, latencies, answers


def _storage_study(rows: int) -> tuple[dict, dict]:
    """Bytes per row and time-range scans on a scratch copy of the log's shape."""
    from django.db import connection

    metrics: dict[str, float] = {}
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_events_scan")
        c.execute("CREATE TABLE bench_events_scan (LIKE feed_engagementevent INCLUDING DEFAULTS)")
        t0 = time.perf_counter()
        # 30 days of events in arrival order, as the endpoint appends them.
        c.execute(
            """
            INSERT INTO bench_events_scan
                (user_id, post_id, occurred_at, received_at, event_id, watch_ms, completion, type, surface, position)
            SELECT (random() * 100000)::bigint, (random() * 1000000)::bigint,
                   ts - (random() * interval '1 hour'), ts, gen_random_uuid(),
                   CASE WHEN g %% 3 = 0 THEN (random() * 30000)::int END,
                   CASE WHEN g %% 3 = 0 THEN random()::real END,
                   (1 + g %% 9)::smallint, (g %% 6)::smallint, (g %% 50)::smallint
            FROM generate_series(1, %s) AS g,
                 LATERAL (SELECT now() - interval '30 days' + (g::float / %s) * interval '30 days' AS ts) t
            """,
            [rows, rows],
        )
        metrics["storage_fill_rows_per_s"] = round(rows / (time.perf_counter() - t0))
        c.execute("ALTER TABLE bench_events_scan ADD PRIMARY KEY (user_id, event_id)")
        c.execute(
            "CREATE INDEX bench_events_scan_brin ON bench_events_scan"
            " USING brin (received_at) WITH (pages_per_range = 32)"
        )
        c.execute("VACUUM ANALYZE bench_events_scan")
        c.execute(
            "SELECT pg_relation_size('bench_events_scan'), pg_relation_size('bench_events_scan_pkey'),"
            " pg_relation_size('bench_events_scan_brin')"
        )
        heap, pkey, brin = c.fetchone()
        metrics["storage_heap_bytes_per_row"] = round(heap / rows, 1)
        metrics["storage_pkey_bytes_per_row"] = round(pkey / rows, 1)
        metrics["storage_brin_index_kb"] = round(brin / 1024, 1)

        def scan(label: str, span: str) -> None:
            query = (
                "SELECT type, count(*), avg(watch_ms) FROM bench_events_scan"
                f" WHERE received_at >= now() - interval '10 days' - interval '{span}'"
                "   AND received_at < now() - interval '10 days' GROUP BY type"
            )
            timings = []
            for _ in range(5):
                t = time.perf_counter()
                c.execute(query)
                c.fetchall()
                timings.append((time.perf_counter() - t) * 1000)
            metrics[f"scan_{span.replace(' ', '')}_{label}_ms"] = round(statistics.median(timings), 1)

        for span in ("1 hour", "1 day"):
            scan("brin", span)
        c.execute("SET enable_bitmapscan = off; SET enable_indexscan = off")
        for span in ("1 hour", "1 day"):
            scan("seqscan", span)
        c.execute("RESET enable_bitmapscan; RESET enable_indexscan")
        c.execute("DROP INDEX bench_events_scan_brin")
        c.execute("CREATE INDEX bench_events_scan_btree ON bench_events_scan (received_at)")
        c.execute("ANALYZE bench_events_scan")
        c.execute("SELECT pg_relation_size('bench_events_scan_btree')")
        metrics["storage_btree_index_bytes_per_row"] = round(c.fetchone()[0] / rows, 1)
        for span in ("1 hour", "1 day"):
            scan("btree", span)
        c.execute("DROP TABLE bench_events_scan")
    units = {k: ("ms" if k.endswith("_ms") else "kB" if k.endswith("_kb") else "bytes/row") for k in metrics}
    units["storage_fill_rows_per_s"] = "rows/s"
    return metrics, units


def _measure() -> None:
    from benchmarks.common import django_setup, percentile, write_result

    django_setup()
    from django.db import connection

    from feed.models import EngagementEvent

    tokens, post_ids = _seed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # a live database has statistics; a freshly seeded one must be told
    connection.close()
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    jobs = [(tokens[i % USERS], json.dumps({"events": _batch(rng, post_ids, now)}).encode()) for i in range(BATCHES)]
    warmup = [(tokens[i % USERS], json.dumps({"events": _batch(rng, post_ids, now)}).encode()) for i in range(8)]

    env = dict(os.environ)
    server, base = _start_server(env)
    try:
        _post_all(base, warmup, THREADS)
        elapsed, latencies, answers = _post_all(base, jobs, THREADS)
        accepted = sum(a["accepted"] for a in answers)
        rejected = sum(len(a["rejected"]) for a in answers)
        resend_elapsed, _, resend_answers = _post_all(base, jobs[:RESENT], THREADS)
        duplicates = sum(len(a["duplicate_ids"]) for a in resend_answers)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)

    total = BATCHES * BATCH
    stored = EngagementEvent.objects.count()
    if accepted != total or rejected or stored != total + len(warmup) * BATCH or duplicates != RESENT * BATCH:
        raise RuntimeError(
            f"ingestion check failed: accepted={accepted} rejected={rejected} stored={stored} duplicates={duplicates}"
        )
    metrics = {
        "events_per_s": round(total / elapsed),
        "batch_p50_ms": round(statistics.median(latencies), 1),
        "batch_p95_ms": round(percentile(latencies, 95), 1),
        "duplicate_events_per_s": round(RESENT * BATCH / resend_elapsed),
        "events_stored": stored,
    }
    units = {
        "events_per_s": "events/s",
        "batch_p50_ms": "ms",
        "batch_p95_ms": "ms",
        "duplicate_events_per_s": "events/s",
        "events_stored": "rows",
    }
    print(f"[events] ingestion: {metrics}", flush=True)
    if STORAGE_ROWS > 0:
        print(f"[events] storage study on {STORAGE_ROWS:,} synthetic rows ...", flush=True)
        storage, storage_units = _storage_study(STORAGE_ROWS)
        metrics.update(storage)
        units.update(storage_units)
    params = {
        "path": "POST /api/v1/events on one daphne process, real bearer tokens",
        "client_threads": THREADS,
        "batch_size": BATCH,
        "batches": BATCHES,
        "users": USERS,
        "posts": POSTS,
        "storage_rows": STORAGE_ROWS,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "target": "events_per_s >= 5000",
    }
    path = write_result("events", params=params, metrics=metrics, units=units)
    print(f"[events] {metrics} -> {path}", flush=True)


if __name__ == "__main__":
    if "--measure" in sys.argv:
        _measure()
    else:
        main()
