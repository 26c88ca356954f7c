"""Generation end to end: a live ASGI server, a real Celery worker on Redis, the embedded model.

Submit → progress over the websocket → succeeded → an MP4 PyAV decodes with the expected frames
and size → a C2PA manifest c2pa-python reads back → listed as a draft → posted. Then the fault
test: SIGKILL the worker mid-job; after a restart the job finishes once, charged once.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import timedelta

import av
import httpx
import pytest
import websockets
from django.utils import timezone

from generation.models import CreditEntry, GenerationJob, JobStatus
from generation.provenance import read_manifest
from sora_social.users.services import token_issue
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _api(stack, token: str) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _wait_for_job(api: httpx.Client, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/api/v1/generations/{job_id}").json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def test_submit_progress_mp4_provenance_draft_post(live_stack):
    user = UserFactory(handle="maker")
    _, token = token_issue(user=user)
    api = _api(live_stack, token)
    messages: list[dict] = []

    async def listen_until_done(job_holder: dict) -> None:
        url = f"{live_stack.ws_url}/ws/notifications/?token={token}"
        async with websockets.connect(url) as ws:
            job_holder["connected"] = True
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                message = json.loads(await asyncio.wait_for(ws.recv(), 300))
                messages.append(message)
                if message["type"] == "notification" and message["notification"]["kind"] in (
                    "generation_completed",
                    "generation_failed",
                ):
                    return

    async def scenario() -> dict:
        holder: dict = {}
        listener = asyncio.create_task(listen_until_done(holder))
        while not holder.get("connected"):
            await asyncio.sleep(0.05)
        response = await asyncio.to_thread(
            api.post,
            "/api/v1/generations",
            json={"prompt": "a red ball drops and bounces twice", "seconds": 4, "size": "720x1280", "seed": 7},
        )
        assert response.status_code == 201, response.text
        await asyncio.wait_for(listener, 300)
        return response.json()

    submitted = asyncio.run(scenario())
    progress = [m for m in messages if m["type"] == "progress" and m["kind"] == "generation_progress"]
    assert progress, messages
    percents = [m["data"]["progress"] for m in progress]
    assert percents == sorted(percents) and max(percents) > 0
    done = [m for m in messages if m["type"] == "notification"][-1]["notification"]
    assert done["kind"] == "generation_completed", done

    job = api.get(f"/api/v1/generations/{submitted['id']}").json()
    assert job["status"] == "succeeded" and job["progress"] == 100
    mp4 = httpx.get(job["video"]["url"], timeout=60).content
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert stream.codec_context.name == "h264"
    assert (frames[0].width, frames[0].height) == (720, 1280)
    assert len(frames) == 4 * job["video"]["fps"] == job["video"]["frame_count"]

    manifest = read_manifest(mp4)
    assert manifest is not None
    assert AI_SOURCE in json.dumps(manifest)

    drafts = api.get("/api/v1/drafts").json()["results"]
    assert [d["id"] for d in drafts] == [job["id"]]
    posted = api.post("/api/v1/posts", json={"video_id": job["video"]["id"], "caption": "my first bounce"})
    assert posted.status_code == 201, posted.text
    assert api.get("/api/v1/drafts").json()["results"] == []

    db_job = GenerationJob.objects.get(public_id=job["id"])
    assert [e.kind for e in CreditEntry.objects.filter(job=db_job).order_by("id")] == ["reserve", "settle"]


def test_sigkill_mid_job_then_restart_finishes_once_and_charges_once(live_stack, settings):
    from generation.jobs import generation_jobs_reap

    user = UserFactory(handle="crashy")
    _, token = token_issue(user=user)
    api = _api(live_stack, token)
    response = api.post("/api/v1/generations", json={"prompt": "a blue square slides to the left", "seconds": 8})
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = GenerationJob.objects.get(public_id=job_id)
        if job.status == JobStatus.RUNNING and job.progress >= 5:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the job never got going")

    live_stack.kill("worker-gpu")  # SIGKILL the whole worker, mid-render
    killed_at = timezone.now()
    live_stack.restart_worker("worker-gpu", "gpu")

    # The reaper (beat runs it every 30 s in production) sees the dead worker's stale heartbeat.
    settings.GENERATION_STALE_AFTER_S = 2
    heartbeat = GenerationJob.objects.get(public_id=job_id).heartbeat_at
    assert heartbeat <= killed_at
    while timezone.now() - heartbeat < timedelta(seconds=3):
        time.sleep(0.2)
    report = generation_jobs_reap()
    assert report.requeued == 1

    final = _wait_for_job(api, job_id)
    assert final["status"] == "succeeded", final
    job = GenerationJob.objects.get(public_id=job_id)
    assert job.attempts == 2
    kinds = sorted(CreditEntry.objects.filter(job=job).values_list("kind", flat=True))
    assert kinds == ["reserve", "settle"]  # exactly one charge, no refund
