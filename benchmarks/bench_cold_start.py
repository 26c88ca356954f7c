"""Cold start: 20 concurrent submits within a second of the stack saying it is ready.

A fresh database and a freshly started stack (ASGI server, gpu and default workers), as a
deploy or an autoscaler brings one up. Right when `/readyz` answers 200 (and the workers are
up), one submit is timed alone (the first request after readiness), then 20 users submit at
once. Run twice: as shipped (processes load their models before they say ready), and with
SORA_WARMUP=0 (models load inside the first requests, as before), the less flattering run.

    python -m benchmarks.bench_cold_start      → benchmarks/results/cold_start.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import bench_database_env, percentile, write_result

ROOT = Path(__file__).resolve().parents[1]
CONCURRENT = 20

_MAKE_USERS = """
import json
from sora_social.users.services import token_issue
from tests.users.factories import UserFactory
tokens = [token_issue(user=UserFactory(handle=f"cold{{i}}"))[1] for i in range({n})]
print("TOKENS=" + json.dumps(tokens))
"""


def _prepare(env: dict[str, str], users: int) -> list[str]:
    from sora_social.demo.database import migrate, recreate_database

    recreate_database(env["DATABASE_URL"])
    migrate(env)
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _MAKE_USERS.format(n=users)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("TOKENS="))[7:])


def _submit(base: str, token: str, seed: int) -> tuple[int | str, float]:
    began = time.perf_counter()
    try:
        response = httpx.post(
            f"{base}/api/v1/generations",
            json={"prompt": "a red ball bounces twice", "seconds": 4, "seed": seed},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        status: int | str = response.status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return status, (time.perf_counter() - began) * 1000


def _run(warm: bool) -> dict[str, float]:
    from sora_social.demo.stack import LiveStack

    env = bench_database_env(
        "_bench_cold_start",
        SORA_WARMUP="1" if warm else "0",
        THROTTLE_SIGNUP="100000/hour",
        REDIS_KEY_PREFIX=f"sora-coldbench-{int(time.time())}",
    )
    tokens = _prepare(env, CONCURRENT + 1)
    stack = LiveStack(env, log_dir=ROOT / "var" / f"bench-cold-start-{'warm' if warm else 'cold'}")
    spawned = time.monotonic()
    stack.start(timeout=300)
    ready_s = time.monotonic() - spawned
    try:
        first_status, first_ms = _submit(stack.base_url, tokens[0], 0)
        results: list[tuple[int | str, float]] = []
        barrier = threading.Barrier(CONCURRENT)

        def one(i: int) -> None:
            barrier.wait()
            results.append(_submit(stack.base_url, tokens[i], i))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(1, CONCURRENT + 1)]
        burst_began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        burst_s = time.monotonic() - burst_began
    finally:
        stack.stop()
    latencies = [ms for _, ms in results]
    errors = sum(1 for status, _ in results if status != 201) + (first_status != 201)
    label = "warm" if warm else "no_warmup"
    print(
        f"[bench] {label}: ready after {ready_s:.1f}s; first submit {first_status} in {first_ms:.0f} ms; "
        f"{CONCURRENT} concurrent: {[s for s, _ in results].count(201)} × 201, p95 {percentile(latencies, 95):.0f} ms",
        flush=True,
    )
    return {
        f"{label}_ready_after_start_s": round(ready_s, 2),
        f"{label}_first_request_ms": round(first_ms, 1),
        f"{label}_burst_errors": errors,
        f"{label}_burst_p50_ms": round(percentile(latencies, 50), 1),
        f"{label}_burst_p95_ms": round(percentile(latencies, 95), 1),
        f"{label}_burst_wall_s": round(burst_s, 2),
    }


def main() -> None:
    metrics = {**_run(warm=True), **_run(warm=False)}
    units = {name: ("s" if name.endswith("_s") else "ms" if name.endswith("_ms") else "requests") for name in metrics}
    path = write_result(
        "cold_start",
        params={"concurrent_submits": CONCURRENT, "processes": "1 daphne (DB_POOL=1), gpu worker, default worker"},
        metrics=metrics,
        units=units,
    )
    print(f"[bench] wrote {path}")


if __name__ == "__main__":
    main()
