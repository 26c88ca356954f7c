"""The demo model tells the truth: a prompt it cannot draw gets a notice on the job, the draft and
the /v1/videos object, or a 422 when the operator asks for refusals; only on the embedded backend.

The check is real: the prompt's MiniLM embedding against the committed caption matrix.
Jobs stay queued (no worker); the draft test finishes one through the transitions the worker calls.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from generation import demo_domain, jobs
from generation.models import CreditEntry, GenerationJob
from generation.video_model import domain
from tests.generation.factories import clip_bytes
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

IN_DOMAIN = "a red ball drops and bounces twice"
OUT_OF_DOMAIN = "an astronaut riding a horse"
RESULT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "demo_model_domain.json"


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


@pytest.fixture
def api(client_for):
    return client_for(UserFactory())


def generate(api, prompt: str):
    return api.post("/api/v1/generations", {"prompt": prompt}, format="json")


def finish(job: GenerationJob) -> None:
    """The worker's side, through the transitions generation.pipeline.run calls."""
    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("RGB", (160, 96), (20, 20, 30)).save(jpeg, format="JPEG")
    job = jobs.generation_job_start(job_id=job.pk, worker="test")
    media = jobs.RenderedMedia(
        mp4=clip_bytes(seconds=1.0, seed=3),
        thumbnail_jpeg=jpeg.getvalue(),
        spritesheet_jpeg=jpeg.getvalue(),
        backend="embedded",
        model="test",
        watermark_text="",
        c2pa_signed=False,
        c2pa_manifest_label="",
        media_policy={"decision": "allow"},
        media_blocked=False,
    )
    jobs.generation_job_complete(job_id=job.pk, attempt=job.attempts, media=media)


@pytest.mark.parametrize(
    "prompt",
    [IN_DOMAIN, "a blue ball rolling to the left", "two balls colliding", "my cameo falls and bounces"],
)
def test_a_prompt_the_demo_model_can_draw_gets_no_notice(api, prompt):
    response = generate(api, prompt)
    assert response.status_code == 201, response.json()
    assert response.json()["notice"] is None
    assert GenerationJob.objects.get(public_id=response.json()["id"]).notices == []


@pytest.mark.parametrize("prompt", [OUT_OF_DOMAIN, "a cat playing piano", "a person waving on a beach"])
def test_a_prompt_it_cannot_draw_gets_a_notice_on_the_job(api, prompt):
    response = generate(api, prompt)
    assert response.status_code == 201, response.json()
    notice = response.json()["notice"]
    assert notice["code"] == "demo_model_out_of_domain"
    assert "connect a real model" in notice["message"]
    job = GenerationJob.objects.get(public_id=response.json()["id"])
    [stored] = job.notices
    assert stored["similarity"] < stored["threshold"] == demo_domain.DEFAULT_THRESHOLD
    assert api.get(f"/api/v1/generations/{job.public_id}").json()["notice"] == notice


def test_the_notice_stays_on_the_draft(api):
    job = GenerationJob.objects.get(public_id=generate(api, OUT_OF_DOMAIN).json()["id"])
    quiet = GenerationJob.objects.get(public_id=generate(api, IN_DOMAIN).json()["id"])
    finish(job)
    finish(quiet)
    drafts = {d["id"]: d for d in api.get("/api/v1/drafts").json()["results"]}
    assert set(drafts) == {job.public_id, quiet.public_id}
    assert drafts[job.public_id]["status"] == "succeeded" and drafts[job.public_id]["video"] is not None
    assert drafts[job.public_id]["notice"]["code"] == "demo_model_out_of_domain"
    assert drafts[quiet.public_id]["notice"] is None


def test_the_v1_videos_object_carries_the_notice(api):
    created = api.post("/v1/videos", {"prompt": OUT_OF_DOMAIN}, format="json")
    assert created.status_code == 200, created.json()
    assert created.json()["notice"]["code"] == "demo_model_out_of_domain"
    fetched = api.get(f"/v1/videos/{created.json()['id']}").json()
    assert fetched["notice"] == created.json()["notice"]
    listed = api.get("/v1/videos").json()["data"]
    assert [v["notice"]["code"] for v in listed] == ["demo_model_out_of_domain"]
    plain = api.post("/v1/videos", {"prompt": IN_DOMAIN}, format="json").json()
    assert plain["notice"] is None


def test_refuse_mode_is_a_422_and_charges_nothing(api, settings):
    settings.GENERATION_DEMO_OUT_OF_DOMAIN = "refuse"
    response = generate(api, OUT_OF_DOMAIN)
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "prompt_out_of_domain"
    openai = api.post("/v1/videos", {"prompt": OUT_OF_DOMAIN}, format="json")
    assert openai.status_code == 422
    assert openai.json()["error"]["code"] == "prompt_out_of_domain"
    assert openai.json()["error"]["type"] == "invalid_request_error"
    assert not GenerationJob.objects.exists() and not CreditEntry.objects.exists()
    # What it can draw still goes through.
    assert generate(api, IN_DOMAIN).status_code == 201


def test_off_mode_and_other_backends_are_not_checked(api, settings, monkeypatch):
    settings.GENERATION_DEMO_OUT_OF_DOMAIN = "off"
    assert generate(api, OUT_OF_DOMAIN).json()["notice"] is None
    settings.GENERATION_DEMO_OUT_OF_DOMAIN = "refuse"
    # A real model draws what it is asked: no notice, no refusal.
    assert demo_domain.demo_domain_check(prompt=OUT_OF_DOMAIN, backend="remote") == []
    assert demo_domain.demo_domain_check(prompt=OUT_OF_DOMAIN, backend="diffusers") == []


def test_the_threshold_is_the_benchmarks_and_the_matrix_is_the_commands():
    """The shipped threshold is the one benchmarks/bench_demo_model_domain.py chose, and the
    committed matrix holds the captions `manage.py build_demo_domain` draws from today's grammar
    (a grammar change without a rebuild fails here)."""
    result = json.loads(RESULT.read_text())
    assert result["metrics"]["threshold"] == demo_domain.DEFAULT_THRESHOLD
    meta = json.loads(domain.META_PATH.read_text())
    matrix = domain.load_matrix()
    assert matrix.shape == (meta["captions"], 384)
    captions = domain.sample_captions(meta["captions"], seed=meta["seed"])
    assert hashlib.sha256("\n".join(captions).encode()).hexdigest() == meta["captions_sha256"]
