"""Generation throughput and dispatch latency, end to end through the real stack.

50 users submit at once (`POST /api/v1/generations`, 4-second clips) to a live ASGI server;
one `gpu` worker (concurrency 1, as on one GPU) renders them with the embedded model on the
CPU. Measured:

- submit_p50/p95_ms: the HTTP submit call under 50 concurrent submits (policy, consent,
  credits, the row locks, the enqueue);
- dispatch_p50/p95_ms: from the moment a job could start (submitted, and the worker free) to
  the moment the worker started it — the queue's own latency, without the wait behind earlier
  renders on the single worker;
- queue_wait_p50/p95_s: submit → start including that wait (grows with position in line);
- render_p50_s and jobs_per_minute: the embedded model on this CPU, encode + sign included.

Runs on a throw-away database; `python -m benchmarks.run_all generation`.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

from benchmarks.common import base_database_url, percentile, write_result

ROOT = Path(__file__).resolve().parents[1]
USERS = int(os.environ.get("BENCH_GENERATION_USERS", "50"))
PROMPTS = [
    "a red ball drops and bounces twice",
    "a blue square slides to the left",
    "a green triangle rolls to the right",
    "a yellow ball is thrown to the right",
    "a purple box rises into the air",
]


def main() -> None:
    from sora_social.demo.database import database_url_with_name, migrate, recreate_database

    base = base_database_url()
    db_url = database_url_with_name(base, base.rsplit("/", 1)[-1].split("?")[0] + "_bench_generation")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sora_social.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": db_url,
        "REDIS_KEY_PREFIX": "sora-genbench",
        "GENERATION_MAX_IN_FLIGHT": "5",
        "THROTTLE_SIGNUP": "100000/hour",  # the benchmark signs its users up from one address
        "GENERATION_DAILY_FREE_CREDITS": "100",
        "MEDIA_ROOT": str(ROOT / "var" / "bench-media"),
        "LOG_LEVEL": "WARNING",
    }
    print("[bench] preparing a fresh database ...", flush=True)
    recreate_database(db_url)
    migrate(env)
    from sora_social.demo.stack import LiveStack

    stack = LiveStack(env, log_dir=ROOT / "var" / "bench-generation-logs")
    stack.start()
    try:
        print(f"[bench] signing up {USERS} users ...", flush=True)
        tokens = [_sign_up(stack.base_url, i) for i in range(USERS + 1)]
        # One untimed submit first: the server loads the prompt-policy models (MiniLM) once per
        # process, ~10 s, which would otherwise be charged to every request of the burst.
        cold_ms = _warm_up(stack.base_url, tokens.pop())
        result = _measure(stack.base_url, tokens)
        result["first_submit_cold_ms"] = round(cold_ms, 1)
    finally:
        stack.stop()
    path = write_result(
        "generation",
        params={
            "concurrent_submits": USERS,
            "seconds_per_clip": 4,
            "size": "720x1280",
            "gpu_workers": 1,
            "device": "cpu",
            "load_average_start": result.pop("load_start"),
            "load_average_end": result.pop("load_end"),
        },
        metrics=result,
        units={
            "submit_p50_ms": "ms",
            "submit_p95_ms": "ms",
            "dispatch_p50_ms": "ms",
            "dispatch_p95_ms": "ms",
            "queue_wait_p50_s": "s",
            "queue_wait_p95_s": "s",
            "render_p50_s": "s",
            "render_p95_s": "s",
            "jobs_per_minute": "jobs/min",
            "jobs_succeeded": "jobs",
            "first_submit_cold_ms": "ms (untimed warm-up: loads the policy models)",
        },
    )
    print(f"[bench] wrote {path}", flush=True)


def _sign_up(base_url: str, index: int) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/signup",
        json={"handle": f"bench{index}", "password": f"bench-pass-{index}-2026", "date_of_birth": "1990-01-01"},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["token"]


def _warm_up(base_url: str, token: str) -> float:
    """Submit one job and cancel it; returns how long that cold submit took (ms)."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    response = httpx.post(
        f"{base_url}/api/v1/generations", headers=headers, json={"prompt": PROMPTS[0], "seconds": 4}, timeout=120
    )
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    httpx.post(f"{base_url}/api/v1/generations/{response.json()['id']}/cancel", headers=headers, timeout=60)
    return elapsed


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _measure(base_url: str, tokens: list[str]) -> dict:
    load_start = os.getloadavg()[0]

    def submit(index: int) -> tuple[float, str]:
        started = time.perf_counter()
        response = httpx.post(
            f"{base_url}/api/v1/generations",
            headers={"Authorization": f"Bearer {tokens[index]}"},
            json={"prompt": PROMPTS[index % len(PROMPTS)], "seconds": 4, "seed": index},
            timeout=120,
        )
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return elapsed, response.json()["id"]

    print(f"[bench] {len(tokens)} concurrent submits ...", flush=True)
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        submitted = list(pool.map(submit, range(len(tokens))))
    submit_ms = [ms for ms, _ in submitted]
    ids = [job_id for _, job_id in submitted]

    deadline = time.monotonic() + 60 * 60
    jobs: list[dict] = []
    while time.monotonic() < deadline:
        jobs = [
            httpx.get(f"{base_url}/api/v1/generations/{job_id}", headers={"Authorization": f"Bearer {token}"}).json()
            for job_id, token in zip(ids, tokens, strict=True)
        ]
        done = sum(1 for job in jobs if job["status"] not in ("queued", "running"))
        print(f"\r[bench] rendered {done}/{len(ids)}", end="", flush=True)
        if done == len(ids):
            break
        time.sleep(3)
    print(flush=True)
    succeeded = sorted((j for j in jobs if j["status"] == "succeeded"), key=lambda j: j["started_at"])
    dispatch, waits, renders = [], [], []
    previous_finish = None
    for job in succeeded:
        created, started, finished = (_parse(job[k]) for k in ("created_at", "started_at", "finished_at"))
        could_start = created if previous_finish is None else max(created, previous_finish)
        dispatch.append((started - could_start).total_seconds() * 1000)
        waits.append((started - created).total_seconds())
        renders.append((finished - started).total_seconds())
        previous_finish = finished
    span_min = (
        (_parse(succeeded[-1]["finished_at"]) - _parse(succeeded[0]["started_at"])).total_seconds() / 60
        if len(succeeded) > 1
        else 0
    )
    return {
        "submit_p50_ms": round(percentile(submit_ms, 50), 1),
        "submit_p95_ms": round(percentile(submit_ms, 95), 1),
        "dispatch_p50_ms": round(percentile(dispatch, 50), 1),
        "dispatch_p95_ms": round(percentile(dispatch, 95), 1),
        "queue_wait_p50_s": round(percentile(waits, 50), 1),
        "queue_wait_p95_s": round(percentile(waits, 95), 1),
        "render_p50_s": round(percentile(renders, 50), 2),
        "render_p95_s": round(percentile(renders, 95), 2),
        "jobs_per_minute": round(len(succeeded) / span_min, 2) if span_min else 0.0,
        "jobs_succeeded": len(succeeded),
        "load_start": round(load_start, 2),
        "load_end": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
