"""Load through the balancer of the production topology: 1 web process vs 2 (docs/SCALING.md).

`python -m benchmarks.bench_cluster_load` against the topology `make cluster` started (it starts
it if it is not up). Seeds a small world through the API (accounts, follows, posts of real
uploaded MP4s), then for each configuration (nginx balancing over 1, then 2 ASGI processes)
runs the main request mix for --seconds with --concurrency clients:
  feeds (latest, following, for-you) 45 %, profiles 15 %, post detail and its chain 15 %,
  /me 10 %, engagement event batches of 20 (POST /events) 10 %, like/unlike 5 %.
Reports requests/s, p50/p95 per configuration, errors, events/s ingested, and the replica's
replay lag during the run (pg_stat_replication). JSON: benchmarks/results/cluster_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from benchmarks.common import percentile, write_result

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = Path(os.environ.get("CLUSTER_ENV", ROOT / "var" / "cluster" / "cluster.env"))
MIX = [
    ("feed_latest", 20),
    ("feed_following", 15),
    ("feed_for_you", 10),
    ("profile", 15),
    ("post", 10),
    ("chain", 5),
    ("me", 10),
    ("events", 10),
    ("like", 5),
]


def _env() -> dict[str, str]:
    env = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            env[key] = value
    return env


def _cluster(*args: str) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "cluster.sh"), *args], cwd=ROOT, check=True)


def _seed(base: str, users: int, posts: int) -> dict:
    from generation.media import render_clip

    client = httpx.Client(base_url=base, timeout=120)
    accounts = []
    for _ in range(users):
        handle = f"load{uuid.uuid4().hex[:8]}"
        response = client.post(
            "/api/v1/auth/signup",
            json={"handle": handle, "password": "a long enough passphrase 42", "date_of_birth": "1990-01-01"},
        )
        response.raise_for_status()
        accounts.append({"handle": handle, "token": response.json()["token"]})
    rng = random.Random(7)
    for account in accounts:
        headers = {"Authorization": f"Bearer {account['token']}"}
        for other in rng.sample(accounts, k=min(8, len(accounts))):
            if other is not account:
                client.post(f"/api/v1/users/{other['handle']}/follow", headers=headers)
    post_ids = []
    for i in range(posts):
        author = accounts[i % len(accounts)]
        headers = {"Authorization": f"Bearer {author['token']}"}
        clip = render_clip(seconds=1.0, seed=100 + i, width=160, height=96)
        video = client.post("/api/v1/videos", headers=headers, files={"file": ("c.mp4", clip, "video/mp4")})
        video.raise_for_status()
        post = client.post(
            "/api/v1/posts", headers=headers, json={"video_id": video.json()["id"], "caption": f"load post {i}"}
        )
        post.raise_for_status()
        post_ids.append(post.json()["id"])
    return {"accounts": accounts, "post_ids": post_ids}


def _request(kind: str, world: dict, rng: random.Random) -> tuple[str, str, dict | None]:
    account = rng.choice(world["accounts"])
    post_id = rng.choice(world["post_ids"])
    if kind == "feed_latest":
        return "GET", "/api/v1/feed/latest", None
    if kind == "feed_following":
        return "GET", "/api/v1/feed/following", None
    if kind == "feed_for_you":
        return "GET", "/api/v1/feed/for-you", None
    if kind == "profile":
        return "GET", f"/api/v1/users/{account['handle']}", None
    if kind == "post":
        return "GET", f"/api/v1/posts/{post_id}", None
    if kind == "chain":
        return "GET", f"/api/v1/posts/{post_id}/chain", None
    if kind == "me":
        return "GET", "/api/v1/me", None
    if kind == "events":
        events = [
            {"id": str(uuid.uuid4()), "type": "view", "post_id": rng.choice(world["post_ids"]), "watch_ms": 3000}
            for _ in range(20)
        ]
        return "POST", "/api/v1/events", {"events": events}
    return ("POST" if rng.random() < 0.5 else "DELETE"), f"/api/v1/posts/{post_id}/like", None


async def _run(base: str, world: dict, seconds: float, concurrency: int, seed: int) -> dict:
    kinds = [k for k, weight in MIX for _ in range(weight)]
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    events = 0
    deadline = time.monotonic() + seconds

    async def client_loop(index: int) -> None:
        nonlocal events
        rng = random.Random(seed * 1000 + index)
        token = world["accounts"][index % len(world["accounts"])]["token"]
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
        ) as client:
            while time.monotonic() < deadline:
                kind = rng.choice(kinds)
                method, path, body = _request(kind, world, rng)
                began = time.perf_counter()
                try:
                    response = await client.request(method, path, json=body)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = (time.perf_counter() - began) * 1000
                if status not in (200, 201, 204):
                    errors[f"{kind}:{status}"] = errors.get(f"{kind}:{status}", 0) + 1
                    continue
                latencies.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
                if kind == "events":
                    events += 20

    began = time.monotonic()
    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    wall = time.monotonic() - began
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "events_per_s": events / wall,
        "p95_ms_by_kind": {k: round(percentile(v, 95), 1) for k, v in by_kind.items()},
    }


def _replica_lag_sampler(primary_url: str, stop: asyncio.Event, samples: list[float]):
    async def sample() -> None:
        with psycopg.connect(primary_url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT COALESCE(EXTRACT(EPOCH FROM replay_lag), 0), "
                    "pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication"
                ).fetchone()
                if row:
                    samples.append(float(row[0]) * 1000)
                await asyncio.sleep(0.25)

    return sample()


async def _measure(base: str, world: dict, seconds: float, concurrency: int, seed: int, primary: str) -> dict:
    stop = asyncio.Event()
    lags: list[float] = []
    with psycopg.connect(primary, autocommit=True) as conn:
        wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    sampler = asyncio.create_task(_replica_lag_sampler(primary, stop, lags))
    try:
        result = await _run(base, world, seconds, concurrency, seed)
    finally:
        stop.set()
        await sampler
    with psycopg.connect(primary, autocommit=True) as conn:
        wal_bytes = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_before]).fetchone()[0]
    result["wal_bytes_per_request"] = float(wal_bytes) / max(1, result["requests"])
    result["replica_replay_lag_max_ms"] = max(lags) if lags else 0.0
    result["replica_replay_lag_p95_ms"] = percentile(lags, 95) if lags else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--posts", type=int, default=12)
    args = parser.parse_args()
    if not ENV_FILE.exists():
        _cluster("up")
    env = _env()
    base = env["CLUSTER_LB_URL"]
    print(f"[cluster_load] seeding {args.users} accounts, {args.posts} posts through {base}", flush=True)
    world = _seed(base, args.users, args.posts)
    runs = {}
    try:
        for servers in (1, 2):
            _cluster("balance", str(servers))
            asyncio.run(_run(base, world, 5.0, args.concurrency, seed=0))  # warm caches and pools
            runs[servers] = asyncio.run(
                _measure(base, world, args.seconds, args.concurrency, seed=servers, primary=env["CLUSTER_PG_PRIMARY"])
            )
            print(f"[cluster_load] {servers} web process(es): {runs[servers]}", flush=True)
    finally:
        _cluster("balance", "2")
    metrics = {}
    units = {}
    for servers, run in runs.items():
        for name in ("requests_per_s", "p50_ms", "p95_ms", "errors", "events_per_s"):
            key = f"web{servers}_{name}"
            metrics[key] = round(run[name], 2)
            units[key] = {"requests_per_s": "req/s", "events_per_s": "events/s", "errors": "count"}.get(name, "ms")
        metrics[f"web{servers}_replica_lag_max_ms"] = round(run["replica_replay_lag_max_ms"], 1)
        units[f"web{servers}_replica_lag_max_ms"] = "ms"
        metrics[f"web{servers}_replica_lag_p95_ms"] = round(run["replica_replay_lag_p95_ms"], 1)
        units[f"web{servers}_replica_lag_p95_ms"] = "ms"
        metrics[f"web{servers}_wal_bytes_per_request"] = round(run["wal_bytes_per_request"], 1)
        units[f"web{servers}_wal_bytes_per_request"] = "bytes"
    metrics["scale_2_over_1"] = round(runs[2]["requests_per_s"] / runs[1]["requests_per_s"], 2)
    units["scale_2_over_1"] = "ratio"
    load = os.getloadavg()
    path = write_result(
        "cluster_load",
        params={
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "users": args.users,
            "posts": args.posts,
            "mix_percent": dict(MIX),
            "p95_ms_by_kind": {f"web{s}": r["p95_ms_by_kind"] for s, r in runs.items()},
            "error_kinds": {f"web{s}": r["error_kinds"] for s, r in runs.items()},
            "load_average_1m_at_end": round(load[0], 2),
            "note": "2 cores shared with other work on this box; the load generator runs on the same cores",
        },
        metrics=metrics,
        units=units,
    )
    print(f"[cluster_load] wrote {path}")


if __name__ == "__main__":
    main()
