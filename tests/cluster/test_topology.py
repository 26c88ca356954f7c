"""The production topology on this box (scripts/cluster.sh), driven from outside like a client.

nginx -> two ASGI servers; PgBouncer (transaction mode) -> PostgreSQL primary + streaming
replica; Redis; two gpu workers, a default worker, beat; Ceph RGW as the S3 object store.
The fixture starts it (its own directory and ports, so a developer's `make cluster` is left
alone) unless CLUSTER_ENV points at a running one, and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.cluster]

ROOT = Path(__file__).resolve().parents[2]
NEEDED = {"nginx": "nginx-light", "pgbouncer": "pgbouncer", "radosgw": "radosgw", "ceph-osd": "ceph-osd"}


def _read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            env[key] = value
    return env


@pytest.fixture(scope="module")
def cluster():
    given = os.environ.get("CLUSTER_ENV")
    if given:
        yield _read_env(Path(given))
        return
    missing = [package for binary, package in NEEDED.items() if shutil.which(binary) is None]
    if missing:
        pytest.skip(
            f"Debian packages not installed and not installable here: {' '.join(missing)} (make cluster-packages)"
        )
    if os.geteuid() != 0:
        pytest.skip("the topology runs PostgreSQL as the postgres user: start it as root (make cluster)")
    directory = ROOT / "var" / "cluster-test"
    shutil.rmtree(directory, ignore_errors=True)
    env = {
        **os.environ,
        "CLUSTER_DIR": str(directory),
        "CLUSTER_PORT_BASE": os.environ.get("CLUSTER_TEST_PORT_BASE", "19000"),
    }
    for key in (
        "DATABASE_URL",
        "DATABASE_REPLICA_URL",
        "REDIS_URL",
        "REDIS_KEY_PREFIX",
        "MEDIA_ROOT",
        "STORAGE_BACKEND",
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_ENV",
        "SORA_WARMUP",
    ):
        env.pop(key, None)
    script = ROOT / "scripts" / "cluster.sh"
    started = subprocess.run(["bash", str(script), "up"], env=env, cwd=ROOT, timeout=900)
    try:
        assert started.returncode == 0, f"scripts/cluster.sh up failed; logs in {directory}/log"
        yield {**_read_env(directory / "cluster.env"), "_script_env": env}
    finally:
        subprocess.run(["bash", str(script), "down"], env=env, cwd=ROOT, timeout=300)
        if os.environ.get("CLUSTER_KEEP") != "1":
            shutil.rmtree(directory, ignore_errors=True)


def _signup(base: str, prefix: str) -> tuple[str, str, int]:
    handle = f"{prefix}{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{base}/api/v1/auth/signup",
        json={"handle": handle, "password": "a long enough passphrase 42", "date_of_birth": "1990-01-01"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return handle, body["token"], body["user"]["id"]


def _client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _web_urls(cluster) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in cluster["CLUSTER_WEB_PORTS"].split(",")]


def _script(cluster, *args: str) -> None:
    env = cluster.get("_script_env") or {**os.environ, "CLUSTER_DIR": str(Path(cluster["CLUSTER_LOG_DIR"]).parent)}
    subprocess.run(["bash", str(ROOT / "scripts" / "cluster.sh"), *args], env=env, cwd=ROOT, check=True, timeout=600)


def test_every_process_type_serves_metrics(cluster):
    base = cluster["CLUSTER_LB_URL"]
    _, token, _ = _signup(base, "metrics")
    assert _client(base, token).get("/api/v1/feed/latest").status_code == 200
    ports = dict(item.split(":") for item in cluster["CLUSTER_METRICS_PORTS"].split(","))
    scraped = {name: httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text for name, port in ports.items()}
    assert any('route="/api/v1/feed/latest"' in scraped[web] for web in ("web1", "web2"))
    assert "sora_websocket_connections" in scraped["web1"]
    for worker in ("gpu1", "gpu2", "default"):
        assert "sora_task_queue_wait_seconds" in scraped[worker] or "sora_websocket_connections" in scraped[worker]
    for gauge in ("sora_queue_depth", "sora_moderation_queue_size", "sora_outbox_pending", "sora_replica_lag_seconds"):
        assert gauge in scraped["beat"]
    # Never through the balancer.
    assert httpx.get(f"{base}/metrics", timeout=30).status_code == 404


def test_read_after_write_while_the_replica_lags(cluster):
    base = cluster["CLUSTER_LB_URL"]
    writer_handle, writer_token, _ = _signup(base, "writer")
    followee, _, _ = _signup(base, "star")
    _, reader_token, _ = _signup(base, "reader")
    writer, reader = _client(base, writer_token), _client(base, reader_token)
    # Both tokens used once (their first use writes last_used_at), then the pins expire.
    assert writer.get("/api/v1/me").status_code == reader.get("/api/v1/me").status_code == 200
    time.sleep(1)
    with psycopg.connect(cluster["CLUSTER_PG_REPLICA"], autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            assert writer.post(f"/api/v1/users/{followee}/follow").status_code == 204
            time.sleep(0.5)
            lag = replica.execute(
                "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn(), pg_is_wal_replay_paused()"
            ).fetchone()
            assert lag == (True, True), "the replica should have received but not replayed the follow"
            # The writer reads their own write (primary), on whichever web process serves it.
            for _ in range(4):
                mine = writer.get(f"/api/v1/users/{writer_handle}/following").json()["results"]
                assert [row["user"]["handle"] for row in mine] == [followee]
            # Someone else reads the replica, which has not replayed it yet: lag-tolerant read.
            theirs = reader.get(f"/api/v1/users/{writer_handle}/following").json()["results"]
            assert theirs == []
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        theirs = reader.get(f"/api/v1/users/{writer_handle}/following").json()["results"]
        if theirs:
            break
        time.sleep(0.2)
    assert [row["user"]["handle"] for row in theirs] == [followee]


def test_a_notification_caused_on_one_server_reaches_a_websocket_on_the_other(cluster):
    base = cluster["CLUSTER_LB_URL"]
    web1, web2 = _web_urls(cluster)
    target_handle, target_token, _ = _signup(base, "target")
    _, actor_token, _ = _signup(base, "actor")

    async def scenario() -> dict:
        url = web2.replace("http", "ws") + f"/ws/notifications/?token={target_token}"
        async with websockets.connect(url) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert hello["type"] == "hello"
            response = await asyncio.to_thread(
                lambda: _client(web1, actor_token).post(f"/api/v1/users/{target_handle}/follow")
            )
            assert response.status_code == 204
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if message["type"] == "notification":
                    return message["notification"]

    notification = asyncio.run(scenario())
    assert notification["kind"] == "new_follower"


def test_no_failed_request_while_a_web_process_is_killed_and_restarted(cluster):
    base = cluster["CLUSTER_LB_URL"]
    _, token, _ = _signup(base, "traffic")
    client = _client(base, token)
    results: list[tuple[float, int | str, str]] = []
    stop = threading.Event()

    def traffic() -> None:
        paths = ["/api/v1/feed/latest", "/api/v1/me", "/healthz"]
        index = 0
        while not stop.is_set():
            path = paths[index % len(paths)]
            index += 1
            try:
                status = client.get(path, timeout=30).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            results.append((time.monotonic(), status, path))
            time.sleep(0.05)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(2)
        killed_at = time.monotonic()
        _script(cluster, "kill-web", "1")
        time.sleep(5)
        _script(cluster, "restart-web", "1")
        time.sleep(3)
    finally:
        stop.set()
        worker.join(60)
    after_kill = [r for r in results if r[0] >= killed_at]
    failed = [r for r in results if r[1] != 200]
    assert len(after_kill) > 20, "too little traffic during the kill to show anything"
    assert failed == [], f"{len(failed)} of {len(results)} requests failed: {failed[:5]}"
    # Both servers answer again.
    for web in _web_urls(cluster):
        assert httpx.get(f"{web}/readyz", timeout=30).status_code == 200


def test_jobs_spread_over_both_gpu_workers_with_the_request_id_and_media_from_the_object_store(cluster):
    base = cluster["CLUSTER_LB_URL"]
    log_dir = Path(cluster["CLUSTER_LOG_DIR"])
    submitted: list[tuple[httpx.Client, str, str]] = []
    for maker in range(2):
        _, token, _ = _signup(base, f"maker{maker}")
        api = _client(base, token)
        for job in range(2):
            response = api.post(
                "/api/v1/generations",
                json={"prompt": f"a blue ball rolls left, take {maker}{job}", "seconds": 4, "size": "720x1280"},
            )
            assert response.status_code == 201, response.text
            submitted.append((api, response.json()["id"], response.headers["X-Request-Id"]))
    finished = {}
    deadline = time.monotonic() + 600
    while len(finished) < len(submitted) and time.monotonic() < deadline:
        for api, job_id, _ in submitted:
            if job_id not in finished:
                body = api.get(f"/api/v1/generations/{job_id}").json()
                if body["status"] not in ("queued", "running"):
                    finished[job_id] = body
        time.sleep(1)
    assert len(finished) == len(submitted), "jobs did not finish in time"
    assert all(body["status"] == "succeeded" for body in finished.values()), finished

    # Both gpu workers ran jobs (each worker's own /metrics counts its task runs).
    ports = dict(item.split(":") for item in cluster["CLUSTER_METRICS_PORTS"].split(","))
    runs = {}
    for worker in ("gpu1", "gpu2"):
        scrape = httpx.get(f"http://127.0.0.1:{ports[worker]}/metrics", timeout=30).text
        series = r'sora_task_duration_seconds_count\{queue="gpu",state="SUCCESS",'
        counted = re.search(series + r'task="generation.tasks.generation_job_run"\} (\S+)', scrape)
        runs[worker] = float(counted.group(1)) if counted else 0.0
    assert runs["gpu1"] >= 1 and runs["gpu2"] >= 1, f"jobs ran on one worker only: {runs}"
    # The submit's X-Request-Id followed each job into the workers: through the outbox row to the
    # gpu worker, and from there through the next outbox row (frame indexing) to the default one.
    logged: dict[str, set[str]] = {}
    for worker in ("gpu1", "gpu2", "default"):
        for line in (log_dir / f"{worker}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                logged.setdefault(json.loads(line).get("request_id"), set()).add(worker)
    for _, _, request_id in submitted:
        assert logged.get(request_id), f"no worker log line carries the request id {request_id}"

    # The bytes come from the object store by a short-lived presigned URL, with Range.
    api, job_id, _ = submitted[0]
    video = finished[job_id]["video"]
    content = httpx.get(video["url"], timeout=60)  # the signed link, through the balancer
    assert content.status_code == 302, content.text
    presigned = content.headers["Location"]
    assert presigned.startswith(cluster["S3_ENDPOINT_URL"]) and "X-Amz-Signature=" in presigned
    expires = int(re.search(r"X-Amz-Expires=(\d+)", presigned).group(1))
    assert 0 < expires <= 900
    ranged = httpx.get(presigned, headers={"Range": "bytes=0-99"}, timeout=60)
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.content[4:8] == b"ftyp"  # an MP4
    whole = httpx.get(presigned, timeout=60)
    assert whole.status_code == 200 and int(ranged.headers["Content-Range"].split("/")[1]) == len(whole.content)
    # A tampered grant is refused by the object store itself.
    assert httpx.get(presigned.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=60).status_code == 403
    # The thumbnail and the OpenAI-compatible download (spritesheet too) redirect the same way.
    assert httpx.get(video["thumbnail_url"], timeout=60).status_code == 302
    for variant in ("video", "spritesheet"):
        download = api.get(f"/v1/videos/{job_id}/content", params={"variant": variant})
        assert download.status_code == 302 and "X-Amz-Signature=" in download.headers["Location"]
