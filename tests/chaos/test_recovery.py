"""Recovery on the real processes: ASGI server, gpu and default workers, and beat.

Every process reaches PostgreSQL and Redis through TCP proxies this module owns, so a test can
cut either (the shared services are never touched). Periods are shortened through the
environment, as an operator would in settings. Two tests:

1. beat's reaper requeues a job whose gpu worker was SIGKILLed mid-render, end to end;
2. the chaos run: traffic from several clients (REST and websockets) while, in turn, the gpu
   worker is SIGKILLed mid-render, Redis is cut, PostgreSQL is cut. Every job ends within a
   bound, each with exactly one reservation and one settlement or refund; no notification is
   lost or duplicated for a websocket that resumes with ?after; no 5xx but 503.
   The run's table goes to tests/artifacts/chaos.json (docs/operations.md shows one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import runpy
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
import websockets
from django.conf import settings

from generation.models import CreditEntry, GenerationJob, JobStatus
from sora_social.demo.stack import LiveStack
from sora_social.notifications.models import Notification
from sora_social.users.services import token_issue
from tests.chaos.tcp_proxy import TcpProxy
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"{os.environ.get('REDIS_KEY_PREFIX', 'sora-test')}-chaos"  # apart from any other run's
FINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.BLOCKED}
STALE_AFTER_S = 8


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _forget_namespace() -> None:
    """Queues, schedules and groups of an earlier run must not leak into this one."""
    for db in (settings.REDIS_DB_BROKER, settings.REDIS_DB_CACHE, settings.REDIS_DB_CHANNELS):
        client = redis.Redis.from_url(f"{settings.REDIS_URL}/{db}")
        for key in client.scan_iter(match=f"*{PREFIX}*", count=1000):
            client.delete(key)
        client.close()


@pytest.fixture(scope="module")
def chaos_stack(django_db_setup, django_db_blocker):
    redis_url = urlsplit(settings.REDIS_URL)
    pg = TcpProxy(
        settings.DATABASES["default"]["HOST"] or "127.0.0.1", int(settings.DATABASES["default"]["PORT"] or 5432)
    )
    rd = TcpProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    pg.start()
    rd.start()
    _forget_namespace()
    database_url = (
        f"postgres://{settings.DATABASES['default']['USER'] or 'postgres'}@127.0.0.1:{pg.port}/"
        f"{settings.DATABASES['default']['NAME']}"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "sora_social.settings_test",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{rd.port}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{rd.port}/{settings.REDIS_DB_BROKER}",
        "REDIS_KEY_PREFIX": PREFIX,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SORA_WARMUP": "1",
        # The periods an operator would shorten in settings to watch recovery happen quickly.
        "GENERATION_REAPER_EVERY_S": "2",
        "GENERATION_STALE_AFTER_S": str(STALE_AFTER_S),
        "GENERATION_REQUEUE_AFTER_S": "30",
        "OUTBOX_RELAY_EVERY_S": "2",
        "RANKING_STATS_EVERY_S": "10",
        "RANKING_TRENDING_EVERY_S": "10",
        "RANKING_EMBEDDINGS_EVERY_S": "10",
        "VIDEO_FRAMES_BACKFILL_EVERY_S": "10",
    }
    log_dir = ROOT / "var" / "chaos-logs"
    for old in log_dir.glob("*"):  # this run's logs only (the stack appends to them)
        old.unlink()
    stack = LiveStack(env, log_dir=log_dir, beat=True)
    stack.pg, stack.redis = pg, rd
    stack.start(timeout=240)
    yield stack
    stack.stop()
    pg.stop()
    rd.stop()
    _forget_namespace()


def _stack_schedule(stack) -> dict:
    """The beat schedule as the stack's processes see it (their environment shortens periods)."""
    with mock.patch.dict(os.environ, stack.env):
        return runpy.run_path(str(ROOT / "sora_social" / "periodic.py"))["CELERY_BEAT_SCHEDULE"]


def _client(stack, token: str) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _wait_running(public_id: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = GenerationJob.objects.get(public_id=public_id)
        if job.status == JobStatus.RUNNING and job.progress >= 5:
            return
        assert job.status not in FINAL, f"job ended before it could be killed: {job.status}"
        time.sleep(0.1)
    raise AssertionError("the job never started rendering")


def _ledger(job: GenerationJob) -> list[str]:
    return sorted(CreditEntry.objects.filter(job=job).values_list("kind", flat=True))


def _ledger_ok(job: GenerationJob) -> bool:
    kinds = Counter(_ledger(job))
    if kinds["reserve"] != 1:
        return False
    return kinds["settle"] + kinds["refund"] == (1 if job.status in FINAL else 0)


@pytest.mark.timeout(1800)  # starting the stack and a worker again loads models: minutes on a busy box
def test_every_scheduled_task_fired_and_beat_reaper_requeues_a_sigkilled_render(chaos_stack):
    user = UserFactory(handle="reaped")
    _, token = token_issue(user=user)
    api = _client(chaos_stack, token)
    submitted = api.post("/api/v1/generations", json={"prompt": "a green ball rolls to the right", "seconds": 8})
    assert submitted.status_code == 201, submitted.text
    public_id = submitted.json()["id"]
    _wait_running(public_id)

    chaos_stack.kill("worker-gpu")  # SIGKILL, mid-render: no chance to say anything
    killed = time.monotonic()
    chaos_stack.restart_worker("worker-gpu", "gpu", timeout=180)

    deadline = time.monotonic() + 600  # generous: CI's two cores render an 8-s clip in ~10 s when quiet
    while time.monotonic() < deadline:
        job = GenerationJob.objects.get(public_id=public_id)
        if job.status in FINAL:
            break
        time.sleep(0.5)
    job = GenerationJob.objects.get(public_id=public_id)
    assert job.status == JobStatus.SUCCEEDED, (job.status, job.error_message)
    assert job.attempts == 2  # the killed attempt, and the one the reaper queued
    assert job.error_message == "The worker stopped; trying again.", job.error_message  # the reaper's words
    assert _ledger(job) == ["reserve", "settle"]
    # No one called the reaper but beat: its log shows it sending the task, and the default
    # worker's log shows the reaper finding the dead worker's job.
    beat_log = (chaos_stack.log_dir / "beat.log").read_text()
    beat_up_s = time.time() - (chaos_stack.log_dir / "beat.log").stat().st_ctime
    for entry, spec in _stack_schedule(chaos_stack).items():
        # Every interval entry due since beat started was sent (daily crontab ones are not due).
        if isinstance(spec["schedule"], float) and spec["schedule"] < beat_up_s - 10:
            assert f"Sending due task {entry}" in beat_log, f"beat never sent {entry}"
    default_log = (chaos_stack.log_dir / "worker-default.log").read_text()
    assert f"job {public_id}: worker" in default_log and "stopped answering" in default_log
    assert time.monotonic() - killed < 600


# --- the chaos run ---------------------------------------------------------------------------


class Traffic:
    """Clients as a phone app behaves: poll feeds and notifications, make a video, wait for it,
    make the next; a 503 is retried after Retry-After with the same Idempotency-Key."""

    def __init__(self, stack, users: list[tuple[object, str]], jobs_per_user: int) -> None:
        self.stack = stack
        self.users = users
        self.jobs_per_user = jobs_per_user
        self.phase = "baseline"
        self.results: list[dict] = []
        self.job_ids: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(u, t), daemon=True) for u, t in users]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _record(self, method: str, path: str, status: int | str, elapsed: float) -> None:
        with self.lock:
            self.results.append(
                {"phase": self.phase, "method": method, "path": path, "status": status, "s": round(elapsed, 3)}
            )

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response | None:
        began = time.monotonic()
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self._record(method, path, type(exc).__name__, time.monotonic() - began)
            return None
        self._record(method, path, response.status_code, time.monotonic() - began)
        return response

    def _run(self, user, token: str) -> None:
        client = _client(self.stack, token)
        made = 0
        current: str | None = None
        pending_key: str | None = None
        while not self.stop.is_set():
            self._call(client, "GET", "/api/v1/feed/latest")
            self._call(client, "GET", "/api/v1/notifications")
            if current is None and made < self.jobs_per_user:
                pending_key = pending_key or uuid.uuid4().hex
                response = self._call(
                    client,
                    "POST",
                    "/api/v1/generations",
                    json={"prompt": f"a red ball bounces {made + 1} times", "seconds": 4},
                    headers={"Idempotency-Key": pending_key},
                )
                if response is not None and response.status_code in (200, 201):
                    current = response.json()["id"]
                    pending_key = None
                    made += 1
                    with self.lock:
                        self.job_ids.append(current)
            elif current is not None:
                response = self._call(client, "GET", f"/api/v1/generations/{current}")
                if response is not None and response.status_code == 200:
                    if response.json()["status"] not in ("queued", "running"):
                        current = None
            time.sleep(0.4)
        client.close()


class Listener:
    """One websocket per user that reconnects with ?after=<last seq seen> whenever it closes."""

    def __init__(self, stack, users: list[tuple[object, str]]) -> None:
        self.stack = stack
        self.users = users
        self.received: dict[int, list[int]] = defaultdict(list)
        self.close_codes: Counter = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self.thread.start()

    async def _main(self) -> None:
        await asyncio.gather(*(self._listen(user, token) for user, token in self.users))

    async def _listen(self, user, token: str) -> None:
        seen = self.received[user.pk]
        while not self.stop.is_set():
            after = seen[-1] if seen else 0
            url = f"{self.stack.ws_url}/ws/notifications/?token={token}&after={after}"
            try:
                async with websockets.connect(url, open_timeout=5) as ws:
                    while not self.stop.is_set():
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        except TimeoutError:
                            continue
                        if message.get("type") == "notification":
                            seen.append(message["notification"]["seq"])
            except websockets.ConnectionClosed as closed:
                self.close_codes[closed.rcvd.code if closed.rcvd else "none"] += 1
            except Exception as exc:  # refused, timed out, a handshake answered 503: count it, reconnect
                self.close_codes[type(exc).__name__] += 1
            await asyncio.sleep(0.5)


@pytest.mark.timeout(1800)
def test_chaos_gpu_sigkill_redis_cut_postgres_cut(chaos_stack):
    stack = chaos_stack
    users = []
    for index in range(3):
        user = UserFactory(handle=f"chaos{index}")
        users.append((user, token_issue(user=user)[1]))
    traffic = Traffic(stack, users, jobs_per_user=5)
    listener = Listener(stack, users)
    listener.start()
    traffic.start()
    timeline: list[dict] = []

    def phase(name: str) -> None:
        traffic.phase = name
        timeline.append({"phase": name, "at_s": round(time.monotonic() - began, 1)})

    began = time.monotonic()
    try:
        phase("baseline")
        time.sleep(5)

        phase("gpu worker SIGKILLed mid-render")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if GenerationJob.objects.filter(status=JobStatus.RUNNING, progress__gte=5).exists():
                break
            time.sleep(0.1)
        stack.kill("worker-gpu")
        stack.restart_worker("worker-gpu", "gpu", timeout=180)
        time.sleep(STALE_AFTER_S + 4)

        phase("Redis cut 10 s")
        stack.redis.cut()
        time.sleep(10)
        stack.redis.restore()
        time.sleep(8)

        phase("PostgreSQL cut 10 s")
        stack.pg.cut()
        time.sleep(10)
        stack.pg.restore()
        time.sleep(5)

        phase("recovery")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with traffic.lock:
                ids = list(traffic.job_ids)
            done = len(ids) == 3 * traffic.jobs_per_user and all(
                status in FINAL
                for status in GenerationJob.objects.filter(public_id__in=ids).values_list("status", flat=True)
            )
            if done:
                break
            time.sleep(1)
        bound_s = round(time.monotonic() - began, 1)
    finally:
        traffic.stop.set()
        for thread in traffic.threads:
            thread.join(timeout=60)

    # Websockets: what each got live, then one resume with ?after=<last seq seen>, must be every
    # stored notification, once, in order.
    time.sleep(3)
    listener.stop.set()
    listener.thread.join(timeout=30)
    live = {pk: len(seqs) for pk, seqs in listener.received.items()}
    resume_errors: dict[str, str] = {}
    resume_retries: Counter = Counter()
    for user, token in users:
        try:
            listener.received[user.pk].extend(
                asyncio.run(_resume(stack, token, listener.received[user.pk], resume_retries, str(user.pk)))
            )
        except Exception as exc:  # recorded, see below
            resume_errors[str(user.pk)] = f"{type(exc).__name__}: {exc}"
    expected = {
        user.pk: list(
            Notification.objects.filter(recipient=user, hidden_at__isnull=True, superseded=False)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        for user, _ in users
    }

    jobs = list(GenerationJob.objects.filter(public_id__in=traffic.job_ids))
    table = _table(traffic.results, jobs)
    report = {
        "timeline": timeline,
        "all_jobs_final_after_s": bound_s,
        "phases": table,
        "jobs": dict(Counter(job.status for job in jobs)),
        "ledger_ok": all(_ledger_ok(job) for job in jobs),
        "websocket_closes": dict(listener.close_codes),
        "notifications_expected": {str(k): len(v) for k, v in expected.items()},
        "notifications_received_live": {str(k): live.get(k, 0) for k in expected},
        "notifications_received_with_resume": {str(k): len(listener.received[k]) for k in expected},
        "max_503_s": max((r["s"] for r in traffic.results if r["status"] == 503), default=0),
        "websocket_resume_errors": resume_errors,
        "websocket_resume_4503_retries": dict(resume_retries),
    }
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "chaos.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))

    assert len(jobs) == 3 * traffic.jobs_per_user, report
    assert all(job.status in FINAL for job in jobs), report
    assert all(_ledger_ok(job) for job in jobs), [(j.public_id, j.status, _ledger(j)) for j in jobs]
    bad = [
        r for r in traffic.results if not (isinstance(r["status"], int) and (r["status"] < 500 or r["status"] == 503))
    ]
    assert not bad, bad[:20]
    assert not resume_errors, resume_errors
    for pk, seqs in expected.items():
        # Stored exactly once each, numbered without gaps: what a resume replays.
        assert seqs == list(range(1, len(seqs) + 1)), f"user {pk}: stored seqs {seqs}"
        got = listener.received[pk]
        assert len(got) == len(set(got)), f"user {pk} got a notification twice: {got}"
        assert got == seqs, f"user {pk}: expected {seqs}, got {got}"
    # The outages closed the sockets with 4503 (reconnect later), which the clients did.
    assert report["websocket_closes"].get(4503, 0) > 0, report["websocket_closes"]
    # 503s came fast (connect and pool timeouts of about 2 s), not after 10 s or 30 s.
    assert report["max_503_s"] <= 5, report["max_503_s"]


async def _resume(stack, token: str, seen: list[int], tries: Counter, key: str) -> list[int]:
    """Connect with ?after=<last seq seen> and collect the backlog the server replays. A 4503
    ("reconnect later") is answered as the protocol asks a client to: a pause, then again from
    the last seq received (at most 5 times; each is counted in the report)."""
    got: list[int] = []
    for attempt in range(5):
        after = (got or seen or [0])[-1]
        try:
            async with websockets.connect(f"{stack.ws_url}/ws/notifications/?token={token}&after={after}") as ws:
                while True:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 3))
                    except TimeoutError:
                        return got
                    if message.get("type") == "notification":
                        got.append(message["notification"]["seq"])
        except websockets.ConnectionClosed as closed:
            if not (closed.rcvd and closed.rcvd.code == 4503) or attempt == 4:
                raise
            tries[key] += 1
            await asyncio.sleep(1)
    return got


def _table(results: list[dict], jobs: list[GenerationJob]) -> list[dict]:
    rows = []
    for name in dict.fromkeys(r["phase"] for r in results):
        in_phase = [r for r in results if r["phase"] == name]
        rows.append(
            {
                "phase": name,
                "requests": len(in_phase),
                "by_status": dict(Counter(str(r["status"]) for r in in_phase)),
                "p95_s": sorted(r["s"] for r in in_phase)[int(0.95 * (len(in_phase) - 1))] if in_phase else None,
            }
        )
    with contextlib.suppress(Exception):
        rows.append({"phase": "jobs", "final": dict(Counter(job.status for job in jobs))})
    return rows
