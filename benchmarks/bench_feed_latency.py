"""Feed latency at scale: for-you and following pages under concurrent clients, over HTTP.

The database is the feed benchmark's own (`<db>_bench`: 100,000 users, 1,000,000 posts,
10,000,000 engagement events by default), seeded once by `manage.py seed_feed_bench` (about
3 minutes here) and reused by later runs (FEED_BENCH_RESEED=1 to seed again). The server is
daphne, FEED_BENCH_PROCS processes (default 2, one per core) accepting on one shared socket,
talking to the real PostgreSQL and Redis. A trained ranker (`manage.py train_ranker` on the
same database) is used when FEED_BENCH_MODEL=mlp (the default), the cold-start heuristic
with FEED_BENCH_MODEL=heuristic.

Clients: 20 concurrent (FEED_BENCH_CLIENTS), each one scrolling as a random seeded user with a
real bearer token (88 % ordinary accounts, 12 % accounts following 2,000-5,000): three for-you
pages (the first builds the ranked session: sources, features, model, re-rank; the next two
are slices of it), then two following pages. Clients start at random moments within the first
FEED_BENCH_RAMP_S seconds (default 2), as people open an app at different times. Three runs:
  - closed loop: every client sends its next request as soon as the previous one answers
    (the machine's saturation throughput; latency there is mostly queueing);
  - paced: each client waits an exponential think time (mean FEED_BENCH_THINK_S, default 1 s)
    between pages, i.e. 20 people scrolling fast, ~20 requests/s offered;
  - burst: 20 first for-you pages (20 session builds) sent at one instant, FEED_BENCH_BURSTS
    times (default 3): everyone opening the app at once.
A warm-up pass (untimed) fills PostgreSQL's and the OS's caches first; before each run the
sessions, seen sets and cached viewer profiles are forgotten, so every first page builds its
profile. Latencies are measured at the client (full HTTP round trip, aiohttp); the view's
Server-Timing header gives the time in the view, its CPU time and, for for-you, each stage.

    .venv/bin/python -m benchmarks.run_all feed_latency
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import base_database_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKENS = ROOT / "var" / "bench" / "feed_tokens.json"
MODEL = ROOT / "var" / "bench" / "ranker.npz"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


USERS = _int("FEED_BENCH_USERS", 100_000)
POSTS = _int("FEED_BENCH_POSTS", 1_000_000)
EVENTS = _int("FEED_BENCH_EVENTS", 10_000_000)
CLIENTS = _int("FEED_BENCH_CLIENTS", 20)
PROCS = _int("FEED_BENCH_PROCS", 2)
SECONDS = _int("FEED_BENCH_SECONDS", 60)
THINK_S = float(os.environ.get("FEED_BENCH_THINK_S", "1.0"))
# Clients start spread over this many seconds, as people open an app at different moments; the
# opposite case (everyone at one instant) is measured on its own, as the burst run.
RAMP_S = float(os.environ.get("FEED_BENCH_RAMP_S", "2.0"))
BURSTS = _int("FEED_BENCH_BURSTS", 3)
# Database connections of the server processes: a psycopg pool per process (DB_POOL=1, what
# `make serve` runs), or FEED_BENCH_POOL=0 for a new connection per request (CONN_MAX_AGE=0).
POOL = os.environ.get("FEED_BENCH_POOL", "1") == "1"


def bench_env() -> dict[str, str]:
    from sora_social.demo.database import database_url_with_name

    base = base_database_url()
    name = base.rsplit("/", 1)[-1].split("?")[0] + "_bench"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sora_social.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": database_url_with_name(base, name),
        "REDIS_KEY_PREFIX": "sora-feedbench",
        "LOG_LEVEL": "WARNING",
        # Under ASGI every request runs in its own thread, and a persistent connection per
        # thread exhausts max_connections: a pool per process, or a connection per request.
        "DB_CONN_MAX_AGE": "0",
        "DB_POOL": "1" if POOL else "0",
        "PYTHONUNBUFFERED": "1",
    }
    if os.environ.get("FEED_BENCH_MODEL", "mlp") == "mlp":
        env["FEED_MODEL_PATH"] = str(MODEL)
    else:
        env["FEED_MODEL_PATH"] = ""
    return env


def _seeded(env: dict[str, str]) -> bool:
    import psycopg

    if not TOKENS.exists():
        return False
    try:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            posts = conn.execute("SELECT count(*) FROM feed_post").fetchone()[0]
            events = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'feed_engagementevent'").fetchone()
    except psycopg.Error:
        return False
    return posts >= POSTS * 0.99 and events is not None and events[0] >= EVENTS * 0.9


def ensure_seeded(env: dict[str, str]) -> dict | None:
    """Seed the benchmark database unless a matching one is there. Returns the seed timings."""
    if os.environ.get("FEED_BENCH_RESEED") != "1" and _seeded(env):
        print("[feed] reusing the seeded benchmark database", flush=True)
        return None
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "seed_feed_bench",
            f"--users={USERS}",
            f"--posts={POSTS}",
            f"--events={EVENTS}",
            f"--database={env['DATABASE_URL'].rsplit('/', 1)[-1]}",
        ],
        cwd=ROOT,
        # The command runs on the development settings and creates the bench database itself.
        env={**env, "DATABASE_URL": base_database_url()},
        check=True,
    )
    return {"seed_s": round(time.monotonic() - started, 1)}


def ensure_model(env: dict[str, str]) -> None:
    if not env.get("FEED_MODEL_PATH") or (MODEL.exists() and os.environ.get("FEED_BENCH_RETRAIN") != "1"):
        return
    subprocess.run([sys.executable, "manage.py", "train_ranker", f"--output={MODEL}"], cwd=ROOT, env=env, check=True)


class Servers:
    """PROCS daphne processes accepting on one listening socket (no proxy in front)."""

    def __init__(self, env: dict[str, str], procs: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        fd = self.sock.fileno()
        os.set_inheritable(fd, True)
        log_dir = ROOT / "var" / "bench"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.procs = [
            subprocess.Popen(
                [str(BIN / "daphne"), "--fd", str(fd), "sora_social.asgi:application"],
                cwd=ROOT,
                env=env,
                pass_fds=(fd,),
                stdout=open(log_dir / f"daphne-{i}.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for i in range(procs)
        ]

    def wait_ready(self, timeout: float = 240) -> None:  # servers load their models first
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise TimeoutError("daphne did not come up")

    def stop(self) -> None:
        import signal

        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.sock.close()


def _server_timing(headers) -> tuple[float, float, dict[str, float]]:
    """(app ms, cpu ms, {stage: ms}) from the view's Server-Timing header."""
    parts = {
        name: float(ms)
        for name, ms in (p.strip().split(";dur=") for p in headers.get("server-timing", "").split(",") if ";dur=" in p)
    }
    app, cpu = parts.pop("app", float("nan")), parts.pop("cpu", float("nan"))
    return app, cpu, parts


# The load generator shares the machine's two cores with the servers and PostgreSQL, so it is
# aiohttp (a C HTTP parser): with httpx (pure Python) the clients' own CPU time showed up as
# server latency (paced following p95 93 ms against 49-68 ms with aiohttp, runs interleaved).
async def _get(session, path: str, params: dict, headers: dict) -> tuple[int, dict, tuple]:
    async with session.get(path, params=params, headers=headers) as r:
        body = await r.read()
        timing = _server_timing(r.headers)
        return r.status, (json.loads(body) if r.status == 200 else {}), timing


async def _pages(session, path: str, kinds: tuple[str, ...], headers: dict, record, think) -> None:
    import aiohttp

    cursor = None
    for kind in kinds:
        params = {"limit": 20, **({"cursor": cursor} if cursor else {})}
        started = time.perf_counter()
        try:
            status, body, timing = await _get(session, path, params, headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            record(kind, time.perf_counter() - started, type(exc).__name__, None)
            return
        record(kind, time.perf_counter() - started, status, timing)
        cursor = body.get("next_cursor")
        await think()
        if not cursor:
            return


async def _session(session, secret: str, record, think) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    await _pages(
        session, "/api/v1/feed/for-you", ("for_you_first", "for_you_next", "for_you_next"), headers, record, think
    )
    await _pages(session, "/api/v1/feed/following", ("following_first", "following_next"), headers, record, think)


def _client_session(port: int):
    import aiohttp

    return aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}",
        timeout=aiohttp.ClientTimeout(total=60),
        connector=aiohttp.TCPConnector(limit=CLIENTS),
    )


async def _run(port: int, users: list[dict], seconds: float, think_s: float, seed: int, ramp_s: float = RAMP_S) -> dict:
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {}
    server: dict[str, list[tuple]] = {}
    errors: dict[str, int] = {}

    def record(kind: str, dt: float, status, timing) -> None:
        if status == 200:
            samples.setdefault(kind, []).append(dt * 1000)
            server.setdefault(kind, []).append(timing)
        else:
            errors[f"{kind}:{status}"] = errors.get(f"{kind}:{status}", 0) + 1

    async def think() -> None:
        if think_s > 0:
            await asyncio.sleep(rng.expovariate(1 / think_s))

    deadline = time.monotonic() + seconds

    async def client_loop(session) -> None:
        # Each person arrives at their own moment within the ramp (see RAMP_S).
        await asyncio.sleep(rng.uniform(0, ramp_s))
        while time.monotonic() < deadline:
            await _session(session, rng.choice(users)["secret"], record, think)

    started, cpu = time.monotonic(), time.process_time()
    async with _client_session(port) as session:
        await asyncio.gather(*(client_loop(session) for _ in range(CLIENTS)))
    return {
        "samples": samples,
        "server": server,
        "errors": errors,
        "wall_s": time.monotonic() - started,
        "client_cpu_s": time.process_time() - cpu,
    }


async def _burst(port: int, users: list[dict], rounds: int, seed: int) -> list[float]:
    """CLIENTS people opening the app at the same instant: one first for-you page each (each
    a session build), all sent at once; `rounds` times, a few seconds apart."""
    rng = random.Random(seed)
    latencies: list[float] = []
    async with _client_session(port) as session:

        async def first_page(secret: str) -> None:
            started = time.perf_counter()
            status, _, _ = await _get(
                session, "/api/v1/feed/for-you", {"limit": 20}, {"Authorization": f"Bearer {secret}"}
            )
            if status == 200:
                latencies.append((time.perf_counter() - started) * 1000)

        for _ in range(rounds):
            await asyncio.gather(*(first_page(u["secret"]) for u in rng.sample(users, CLIENTS)))
            await asyncio.sleep(3)
    return latencies


def _pool() -> list[dict]:
    users = json.loads(TOKENS.read_text())
    typical = [u for u in users if u["kind"] == "typical"]
    heavy = [u for u in users if u["kind"] == "heavy"]
    # 88 % ordinary accounts, 12 % accounts following thousands.
    return typical + heavy * max(1, round(0.12 * len(typical) / max(1, 0.88 * len(heavy))))


def _summary(result: dict) -> dict[str, float]:
    from benchmarks.common import percentile

    s = result["samples"]
    out: dict[str, float] = {}
    groups = {
        "for_you": s.get("for_you_first", []) + s.get("for_you_next", []),
        "for_you_first_page": s.get("for_you_first", []),
        "for_you_next_page": s.get("for_you_next", []),
        "following": s.get("following_first", []) + s.get("following_next", []),
    }
    srv = result["server"]
    server_groups = {
        "for_you": srv.get("for_you_first", []) + srv.get("for_you_next", []),
        "for_you_first_page": srv.get("for_you_first", []),
        "for_you_next_page": srv.get("for_you_next", []),
        "following": srv.get("following_first", []) + srv.get("following_next", []),
    }
    for name, values in groups.items():
        out[f"{name}_p50_ms"] = round(percentile(values, 50), 1)
        out[f"{name}_p95_ms"] = round(percentile(values, 95), 1)
        out[f"{name}_requests"] = len(values)
        timings = server_groups[name]
        # What the view itself took (no queueing in front of it) and the CPU its thread used.
        out[f"{name}_server_p50_ms"] = round(percentile([t[0] for t in timings], 50), 1)
        out[f"{name}_server_p95_ms"] = round(percentile([t[0] for t in timings], 95), 1)
        out[f"{name}_cpu_mean_ms"] = round(sum(t[1] for t in timings) / max(1, len(timings)), 1)
    # Where a session build spends its time (the for-you view's Server-Timing stages).
    stages: dict[str, list[float]] = {}
    for timing in srv.get("for_you_first", []):
        for stage, ms in timing[2].items():
            stages.setdefault(stage, []).append(ms)
    for stage, values in stages.items():
        out[f"for_you_first_page_stage_{stage}_p50_ms"] = round(percentile(values, 50), 1)
        out[f"for_you_first_page_stage_{stage}_p95_ms"] = round(percentile(values, 95), 1)
    total = sum(len(v) for v in s.values())
    out["requests_per_s"] = round(total / result["wall_s"], 1)
    # What the load generator itself cost, per request (it shares the cores with the servers).
    out["client_cpu_per_request_ms"] = round(1000 * result["client_cpu_s"] / max(1, total), 2)
    out["errors"] = sum(result["errors"].values())
    return out


def measure(env: dict[str, str]) -> dict:
    users = _pool()
    servers = Servers(env, PROCS)
    try:
        servers.wait_ready()
        # Warm-up: the client users' data into PostgreSQL's and the OS's caches.
        asyncio.run(_run(servers.port, users, min(60, SECONDS), 0.0, seed=1))

        def forget() -> None:
            # Every run starts from the same state: no sessions, seen sets or cached viewer
            # profiles left by the run before (each first page builds its profile).
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import django; django.setup(); from feed.ranking import store; store.flush_all()",
                ],
                cwd=ROOT,
                env=env,
                check=True,
            )

        forget()
        with LoadSampler() as closed_load:
            closed = asyncio.run(_run(servers.port, users, SECONDS, 0.0, seed=2))
        forget()
        with LoadSampler() as paced_load:
            paced = asyncio.run(_run(servers.port, users, SECONDS, THINK_S, seed=3))
        forget()
        burst = asyncio.run(_burst(servers.port, users, BURSTS, seed=4))
    finally:
        servers.stop()
    from benchmarks.common import percentile

    return {
        "closed": _summary(closed),
        "paced": _summary(paced),
        "burst": {
            "for_you_first_page_p50_ms": round(percentile(burst, 50), 1),
            "for_you_first_page_p95_ms": round(percentile(burst, 95), 1),
            "for_you_first_page_max_ms": round(max(burst, default=float("nan")), 1),
            "for_you_first_page_requests": len(burst),
        },
        "errors": {**closed["errors"], **paced["errors"]},
        "load": {"closed": closed_load.summary(), "paced": paced_load.summary()},
    }


class LoadSampler:
    """The 1-minute load average every 5 s while a run lasts (the machine is shared: the
    numbers only mean something next to the load they were taken under)."""

    def __init__(self, every_s: float = 5.0) -> None:
        import threading

        self.every_s = every_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every_s):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        values = self.samples or [float("nan")]
        return {"mean": round(sum(values) / len(values), 2), "max": round(max(values), 2)}


def main() -> None:
    from benchmarks.common import write_result

    env = bench_env()
    seed_info = ensure_seeded(env)
    ensure_model(env)
    print(f"[feed] measuring: {CLIENTS} clients, {PROCS} daphne processes, {SECONDS}s per run ...", flush=True)
    load_before = os.getloadavg()
    result = measure(env)
    load_after = os.getloadavg()
    metrics: dict[str, float] = {}
    units: dict[str, str] = {}
    for mode in ("closed", "paced", "burst"):
        for name, value in result[mode].items():
            metrics[f"{mode}_{name}"] = value
            units[f"{mode}_{name}"] = "ms" if name.endswith("_ms") else ("1/s" if name.endswith("_per_s") else "count")
    params = {
        "users": USERS,
        "posts": POSTS,
        "events": EVENTS,
        "clients": CLIENTS,
        "server_processes": PROCS,
        "seconds_per_run": SECONDS,
        "paced_think_time_mean_s": THINK_S,
        "client_start_ramp_s": RAMP_S,
        "burst": f"{CLIENTS} first for-you pages sent at one instant, {BURSTS} times",
        "model": "mlp" if env.get("FEED_MODEL_PATH") else "heuristic",
        "page_size": 20,
        "session": "3 for-you pages then 2 following pages",
        "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "load_average_1m_during": result["load"],
        "db_connections": "psycopg pool per process (DB_POOL=1)" if POOL else "a new connection per request",
        # The clients, the servers and PostgreSQL share this machine's cores; anything else that
        # ran at the same time shows in the load averages before and after.
        "load_note": "the load averages include the benchmark's own clients, servers and PostgreSQL",
        **(seed_info or {}),
    }
    path = write_result("feed_latency", params=params, metrics=metrics, units=units)
    print(json.dumps(metrics, indent=2))
    print(f"[feed] wrote {path}")


if __name__ == "__main__":
    main()
