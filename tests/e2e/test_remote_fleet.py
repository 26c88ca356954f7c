"""Instance A renders on instance B: a real second sora_social (its own database, Redis namespace,
media folder, ASGI server and Celery workers, the embedded model) reached with an app key.

A is this test process: its jobs go through the real pipeline (`generation.pipeline.run`) with
the remote backend pointed at B's /v1. B's key (made with `manage.py api_key_create`, plan
`fleet`, one job in flight) has a budget of its own: the fleet account's free credits are
untouched, B's 429 at the second concurrent render makes A's job wait (not fail), a job
cancelled on A is deleted on B, a finished job deleted on A is deleted on B, and the video
carries one watermark: A's, with A's user's handle (B returns it unmarked).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from generation import pipeline
from generation.backends import base
from generation.media import watermark_label
from generation.models import GenerationJob, JobStatus
from generation.tasks import remote_video_delete_task
from sora_social.demo.database import database_url_with_name, migrate, recreate_database
from sora_social.demo.stack import LiveStack
from sora_social.outbox.models import OutboxMessage
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FLEET_HANDLE = "fleet_account"
SIZE = "160x288"


@pytest.fixture(scope="module")
def fleet():
    """Instance B, with a fleet account and its app key (the secret printed once)."""
    url = database_url_with_name(
        django_settings.DATABASE_URL, f"{django_settings.DATABASES['default']['NAME']}_fleet"[:63]
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sora_social.settings_test",
        "DATABASE_URL": url,
        "REDIS_KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "sora-test") + "-fleet",
        "MEDIA_ROOT": str(ROOT / "var" / "test-media-fleet"),
        "GENERATION_BACKEND": "embedded",
        # Small clips: the render, upscale, encode and checks are what this test waits for.
        "GENERATION_SIZES": SIZE,
        "GENERATION_DEFAULT_SIZE": SIZE,
    }
    recreate_database(url)
    migrate(env)
    stack = LiveStack(env, log_dir=ROOT / "var" / "e2e-logs-fleet", beat=False)
    stack.start(timeout=240)
    try:
        http = httpx.Client(base_url=stack.base_url, timeout=60)
        signup = http.post(
            "/api/v1/auth/signup",
            json={"handle": FLEET_HANDLE, "password": "copper-lantern-orbit-2026", "date_of_birth": "1990-01-01"},
        )
        assert signup.status_code == 201, signup.text
        command = ["api_key_create", "--handle", FLEET_HANDLE, "--name", "instance A", "--scopes", "videos"]
        made = subprocess.run(
            [sys.executable, "manage.py", *command, "--plan", "fleet", "--max-in-flight", "1"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        secret = made.stdout.strip()
        assert secret.startswith("sk-")
        key = httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=60)
        person = httpx.Client(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {signup.json()['token']}"}, timeout=60
        )
        yield stack, url, secret, key, person
    finally:
        stack.stop()


@pytest.fixture
def as_instance_a(fleet, settings, monkeypatch):
    """This process is A: its remote backend is B, reached with the key; nothing is published
    to a broker (the test runs the worker's side itself)."""
    stack, _url, secret, key, _person = fleet
    models = key.get("/v1/models")
    assert models.status_code == 200, models.text
    settings.GENERATION_BACKEND = "remote"
    settings.GENERATION_REMOTE_ENDPOINTS = [
        {"name": "b", "url": f"{stack.base_url}/v1", "api_key": secret, "flavour": "sora_social"}
    ]
    settings.GENERATION_REMOTE_MODEL = models.json()["data"][0]["id"]
    settings.GENERATION_REMOTE_POLL_S = 0.5
    settings.GENERATION_REMOTE_TIMEOUT_S = 400
    settings.GENERATION_SIZES = (SIZE,)
    settings.GENERATION_DEFAULT_SIZE = SIZE
    base.reset_backends()
    sent: list[tuple] = []
    for task in ("generation_job_run", "remote_video_delete_task"):
        monkeypatch.setattr(f"generation.tasks.{task}.apply_async", lambda *a, **kw: sent.append((a, kw)))
    yield
    base.reset_backends()


def _in_thread(job_id: int) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = pipeline.run(job_id, worker="instance-a")
        except Exception as exc:  # reported by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen in {timeout}s")


def _fleet_videos(key: httpx.Client) -> list[dict]:
    return key.get("/v1/videos", params={"limit": 100}).json()["data"]


def test_instance_a_renders_on_instance_b_with_an_app_key(fleet, as_instance_a, client_for):
    _stack, fleet_db, _secret, key, fleet_person = fleet
    user = UserFactory()
    api = client_for(user)

    def submit(prompt: str) -> GenerationJob:
        made = api.post("/v1/videos", {"prompt": prompt, "seconds": "4"}, format="json")
        assert made.status_code == 200, made.json()
        return GenerationJob.objects.get(public_id=made.json()["id"])

    # 1. The first render goes to B and takes B's one slot for this key.
    first = submit("a red ball bounces on the floor")
    worker, outcome = _in_thread(first.pk)
    _wait(lambda: [v for v in _fleet_videos(key) if v["status"] in ("queued", "in_progress")], 120, "B took job 1")

    # 2. A second one meanwhile: B answers 429 (the key's jobs in flight), and A's job waits.
    second = submit("a blue square slides to the left")
    deferred = pipeline.run(second.pk, worker="instance-a")
    second.refresh_from_db()
    assert deferred.startswith("deferred") and (second.status, second.attempts) == (JobStatus.QUEUED, 0), deferred
    message = OutboxMessage.objects.filter(task="generation.tasks.generation_job_run", args=[second.pk]).last()
    assert message.countdown_s >= 1  # B's Retry-After

    # 3. The first finishes on B, then on A: one watermark, A's user's.
    worker.join(timeout=400)
    assert outcome.get("value") == "succeeded", outcome
    first.refresh_from_db()
    rendition = first.result_video.rendition
    assert rendition.remote_video_id.startswith("b:") and rendition.watermark_text == watermark_label(user.handle)
    b_id = rendition.remote_video_id.split(":", 1)[1]
    with psycopg.connect(fleet_db) as db:
        b_mark = db.execute(
            "SELECT r.watermark_text FROM generation_videorendition r JOIN generation_generationjob j"
            " ON j.result_video_id = r.video_id WHERE j.public_id = %s",
            [b_id],
        ).fetchone()
    assert b_mark == ("",)  # B drew no mark of its own on a fleet key's render
    # B charged the key's budget, not its account's free credits.
    usage = key.get("/api/v1/api-keys/current").json()["usage"]
    assert usage["credits_used_today"] == 1
    assert fleet_person.get("/api/v1/credits").json()["free_remaining"] == 30

    # 4. The waiting job runs again when its outbox message comes due (B's Retry-After; while the
    # endpoint still cools down, A defers it again, as the worker would); cancelled on A while B
    # renders it, it is deleted on B.
    def second_on_b():
        return [v for v in _fleet_videos(key) if v["id"] != b_id and v["status"] in ("queued", "in_progress")]

    deadline = time.monotonic() + 180
    while True:
        due = OutboxMessage.objects.filter(task="generation.tasks.generation_job_run", args=[second.pk]).last()
        time.sleep(min(due.countdown_s, 30))
        worker, outcome = _in_thread(second.pk)
        taken = _wait(lambda: second_on_b() or (not worker.is_alive() and ["gone"]), 120, "B took job 2")
        if taken != ["gone"] or not str(outcome.get("value", "")).startswith("deferred"):
            break
        assert time.monotonic() < deadline, "job 2 kept being deferred"
    assert taken != ["gone"], outcome
    [on_b] = taken
    assert api.delete(f"/v1/videos/{second.public_id}").status_code == 200
    worker.join(timeout=120)
    assert outcome.get("value", "").startswith("stopped"), outcome
    gone = key.get(f"/v1/videos/{on_b['id']}")
    assert gone.status_code == 404 or gone.json()["status"] == "failed", gone.text

    # 5. Deleting the finished job on A deletes it on B (the task the default worker would run).
    assert api.delete(f"/v1/videos/{first.public_id}").status_code == 200
    ref = OutboxMessage.objects.get(task="generation.remote_video_delete").args[0]
    assert ref == rendition.remote_video_id and remote_video_delete_task(ref) is True
    assert key.get(f"/v1/videos/{b_id}").status_code == 404
