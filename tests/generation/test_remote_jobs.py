"""The remote backend inside the job pipeline: a busy fleet makes a job wait (not fail), a job
deleted here is deleted on the fleet, submit refuses what no endpoint supports, and a fleet
client's renders come back without this instance's watermark (it marks them once itself).

The fleet is a real HTTP server in a thread (tests/generation/fake_videos_server.py); the
worker's side runs in-process through `generation.pipeline.run`.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from generation import credits, jobs, pipeline
from generation.backends import base
from generation.media import decode_mp4, watermark_label
from generation.models import CreditEntry, GenerationJob, JobStatus
from generation.tasks import remote_video_delete_task
from sora_social.outbox.models import OutboxMessage
from tests.apikeys.factories import key_client
from tests.generation.fake_videos_server import FakeVideosServer
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

SIZE = "160x288"


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    """Jobs stay queued: the test runs the worker's side itself."""
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


@pytest.fixture
def fleet_settings(settings):
    def point(server: FakeVideosServer, **endpoint) -> None:
        settings.GENERATION_BACKEND = "remote"
        settings.GENERATION_REMOTE_ENDPOINTS = [{"name": "fleet", "url": server.url, **endpoint}]
        settings.GENERATION_REMOTE_MODEL = "wan2.2-t2v"
        settings.GENERATION_REMOTE_POLL_S = 0.01
        settings.GENERATION_REMOTE_BACKOFF_S = 0.05
        settings.GENERATION_SIZES = (SIZE,)
        settings.GENERATION_DEFAULT_SIZE = SIZE
        settings.GENERATION_STALE_AFTER_S = 600  # no heartbeat thread races the test's transaction
        base.reset_backends()

    yield point
    base.reset_backends()


def _submit(api) -> GenerationJob:
    response = api.post("/api/v1/generations", {"prompt": "a red ball bounces on the floor"}, format="json")
    assert response.status_code == 201, response.json()
    return GenerationJob.objects.get(public_id=response.json()["id"])


def test_a_busy_fleet_puts_the_job_back_for_its_retry_after_then_it_renders(client_for, fleet_settings):
    user = UserFactory()
    with FakeVideosServer(busy_posts=1, retry_after=1, poll_after_ms=10) as fleet:
        fleet_settings(fleet)
        job = _submit(client_for(user))
        outcome = pipeline.run(job.pk, worker="test")
        job.refresh_from_db()
        assert outcome.startswith("deferred") and "remote_busy" in outcome
        # Waiting, not failed: queued again, the attempt given back, the credits still reserved.
        assert (job.status, job.attempts, job.error_code) == (JobStatus.QUEUED, 0, "")
        assert "Too many requests" in job.error_message
        assert credits.credit_balance(user=user).free_used_today == 1
        message = OutboxMessage.objects.filter(task="generation.tasks.generation_job_run", args=[job.pk]).last()
        assert message.countdown_s == 1  # the fleet's Retry-After

        time.sleep(1.0)
        assert pipeline.run(job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    rendition = job.result_video.rendition
    assert rendition.backend == "remote" and rendition.remote_video_id.startswith("fleet:")
    assert rendition.watermark_text == watermark_label(user.handle)  # marked once, here
    [create] = [r for r in fleet.requests if r.method == "POST" and r.path == "/v1/videos"][-1:]
    assert create.headers["idempotency-key"] == f"{job.public_id}-1"


def test_a_job_kept_waiting_too_long_fails_and_is_refunded(client_for, fleet_settings, settings):
    user = UserFactory()
    with FakeVideosServer(busy_posts=1, retry_after=1) as fleet:
        fleet_settings(fleet)
        settings.GENERATION_REMOTE_MAX_WAIT_S = 0
        job = _submit(client_for(user))
        pipeline.run(job.pk, worker="test")
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "generation_unavailable")
    assert credits.credit_balance(user=user).free_used_today == 0


def test_deleting_a_finished_job_deletes_the_video_on_the_fleet(client_for, fleet_settings):
    user = UserFactory()
    with FakeVideosServer(poll_after_ms=10) as fleet:
        fleet_settings(fleet)
        job = _submit(client_for(user))
        assert pipeline.run(job.pk, worker="test") == "succeeded"
        job.refresh_from_db()
        ref = job.result_video.rendition.remote_video_id
        jobs.generation_job_delete(job=job, actor=user)
        message = OutboxMessage.objects.get(task="generation.remote_video_delete")
        assert message.args == [ref]
        assert remote_video_delete_task(*message.args) is True  # what the default worker runs
        [video] = fleet.videos.values()
        assert video.deleted


def test_submit_refuses_what_no_endpoint_supports(client_for, fleet_settings):
    api = client_for(UserFactory())
    with FakeVideosServer() as fleet:
        fleet_settings(fleet, capabilities=["seed"])  # text to video only
        image = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 30, 30)).save(image, format="PNG")
        image.name = "ref.png"
        image.seek(0)
        refused = api.post("/v1/videos", {"prompt": "a red ball", "input_reference": image}, format="multipart")
    assert refused.status_code == 422, refused.json()
    assert refused.json()["error"]["code"] == "input_reference_unsupported"
    assert not GenerationJob.objects.exists() and not CreditEntry.objects.exists()


def test_a_fleet_clients_render_comes_back_unmarked_and_a_persons_marked(client_for, settings):
    settings.GENERATION_SIZES = (SIZE,)
    settings.GENERATION_DEFAULT_SIZE = SIZE
    owner = UserFactory()
    fleet_app, _, _ = key_client(owner, scopes=["videos"], plan="fleet")
    standard_app, _, _ = key_client(owner, scopes=["videos"])
    frames = np.full((8, 288, 160, 3), 90, dtype=np.uint8)
    outputs = {}
    for name, api in (("fleet", fleet_app), ("standard", standard_app), ("person", client_for(owner))):
        job = _submit(api)
        media = pipeline.finish_media(job, frames, 8, backend="embedded", model="m")
        outputs[name] = (media.watermark_text, decode_mp4(media.mp4))
    assert outputs["fleet"][0] == "" and np.abs(outputs["fleet"][1].astype(int) - 90).max() <= 4
    for name in ("standard", "person"):
        text, decoded = outputs[name]
        assert text == watermark_label(owner.handle)
        assert np.abs(decoded.astype(int) - 90).max() > 40, name  # the mark is drawn
