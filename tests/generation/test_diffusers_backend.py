"""The diffusers backend, offline on CPU, with tiny Wan pipelines of the real classes.

Each folder is built here with random weights (configs and a word-level tokenizer made
locally) and written with `save_pretrained`, so the backend's real loading (`from_pretrained`,
local files only), batching, progress and the job pipeline's media code all run:
- a Wan 2.2 TI2V-style folder (48-channel VAE that patchifies, `expand_timesteps`): text- and
  image-to-video and extensions, no video-to-video;
- a Wan 2.1-style folder (16-channel VAE): text-to-video and video-to-video, no start image.
32x32 renders, 9 frames, 2 steps: the model's output is noise; what is tested is the plumbing.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from cameos.models import CameoReference
from generation import pipeline
from generation.backends import base
from generation.backends.base import RenderRequest, get_backend
from generation.backends.diffusers_backend import DiffusersBackend, compose_start_image
from generation.models import GenerationJob, JobStatus
from tests.cameos.factories import CameoFactory
from tests.users.factories import UserFactory

diffusers = pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

SIZE = "160x288"  # a small portrait output size keeps encoding and the media check quick
WORDS = "a red ball bounces on the floor cat plays piano person waves beach now in green more".split()


def _build_tiny_wan(folder: Path, *, ti2v: bool) -> None:
    """A Wan pipeline with random weights, written as a diffusers folder."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    vocabulary = {word: index for index, word in enumerate(["<pad>", "</s>", "<unk>", *WORDS])}
    word_level = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=word_level, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(vocabulary), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, relative_attention_max_distance=16,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        )
    )  # fmt: skip
    if ti2v:  # Wan 2.2's VAE: 48 latent channels, 2x2 patchify (16 px per latent cell)
        vae = AutoencoderKLWan(
            base_dim=16, decoder_base_dim=16, z_dim=48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
            temperal_downsample=[False, True, True], is_residual=True, in_channels=12, out_channels=12,
            patch_size=2, scale_factor_spatial=16, scale_factor_temporal=4,
            latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
        )  # fmt: skip
        channels = 48
    else:  # Wan 2.1's VAE: 16 latent channels, 8 px per latent cell
        vae = AutoencoderKLWan(base_dim=16, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1)
        channels = 16
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8, in_channels=channels,
        out_channels=channels, text_dim=32, freq_dim=16, ffn_dim=32, num_layers=2, rope_max_seq_len=32,
    )  # fmt: skip
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        transformer=transformer,
        vae=vae,
        scheduler=scheduler,
        expand_timesteps=ti2v,
    ).save_pretrained(folder)


@pytest.fixture(scope="module")
def ti2v_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wan-ti2v-tiny")
    _build_tiny_wan(folder, ti2v=True)
    return folder


@pytest.fixture(scope="module")
def t2v_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wan21-t2v-tiny")
    _build_tiny_wan(folder, ti2v=False)
    return folder


def _backend_options(model_dir: Path) -> dict:
    # 9 frames for a 4-s clip: 2 frames a second, rendered 4k+1; 32x32 is the area cap.
    return dict(model_dir=str(model_dir), device="cpu", steps=2, fps=2, max_area=32 * 32, max_batch=4)


@pytest.fixture
def use_model(settings):
    """Point the settings at a tiny folder; each test gets a freshly created backend."""

    def point(model_dir: Path, name: str) -> DiffusersBackend:
        settings.GENERATION_BACKEND = "diffusers"
        settings.GENERATION_DIFFUSERS_MODEL_DIR = str(model_dir)
        settings.GENERATION_DIFFUSERS_MODEL_NAME = name
        settings.GENERATION_DEVICE = "cpu"
        settings.GENERATION_DIFFUSERS_STEPS = 2
        settings.GENERATION_DIFFUSERS_FPS = 2
        settings.GENERATION_DIFFUSERS_MAX_AREA = 32 * 32
        settings.GENERATION_SIZES = (SIZE,)
        settings.GENERATION_DEFAULT_SIZE = SIZE
        settings.GENERATION_STALE_AFTER_S = 600  # no heartbeat thread races the test's transaction
        base.reset_backends()
        backend = get_backend()
        assert isinstance(backend, DiffusersBackend)
        return backend

    yield point
    base.reset_backends()


@pytest.fixture
def _no_dispatch(monkeypatch):
    """Submitted jobs stay queued: the test runs the worker's side in-process."""
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


class CallLog:
    """Wraps a pipeline class's __call__ to record each call's arguments (and still run it)."""

    def __init__(self, monkeypatch, pipeline_class) -> None:
        self.calls: list[dict] = []
        original = pipeline_class.__call__
        log = self

        def recording(self, *args, **kwargs):
            log.calls.append(kwargs)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(pipeline_class, "__call__", recording)


class ProgressLog:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def __call__(self, index: int, fraction: float) -> None:
        self.calls.append((index, fraction))

    def of(self, index: int) -> list[float]:
        return [fraction for i, fraction in self.calls if i == index]


def _submit(api, url: str = "/api/v1/generations", **body):
    body.setdefault("prompt", "a red ball bounces on the floor")
    return api.post(url, body, format="json")


def _run(job_id: int) -> GenerationJob:
    outcome = pipeline.run(job_id, worker="test-worker")
    job = GenerationJob.objects.select_related("result_video__rendition").get(pk=job_id)
    assert outcome == "succeeded", (outcome, job.error_code, job.error_message)
    return job


def _assert_a_signed_watermarked_draft(job: GenerationJob, *, model: str) -> None:
    from generation.media import decode_mp4
    from generation.provenance import read_manifest

    assert job.status == JobStatus.SUCCEEDED
    video = job.result_video
    rendition = video.rendition
    assert (video.width, video.height) == (160, 288)
    assert rendition.backend == "diffusers" and rendition.model == model
    assert rendition.c2pa_signed and rendition.watermark_text.endswith(f"@{job.user.handle}")
    with video.file.open("rb") as handle:
        data = handle.read()
    assert read_manifest(data) is not None
    frames = decode_mp4(data)
    assert frames.shape[1:] == (288, 160, 3)


# --- the model folder decides what can be asked for ------------------------------------------------


def test_capabilities_come_from_the_folders_config_files(ti2v_dir, t2v_dir):
    ti2v = DiffusersBackend(**_backend_options(ti2v_dir))
    assert {k for k in ("create", "remix", "edit", "extend", "start_image") if ti2v.supports(k)} == {
        "create",
        "extend",
        "start_image",
    }
    wan21 = DiffusersBackend(**_backend_options(t2v_dir))
    assert {k for k in ("create", "remix", "edit", "extend", "start_image") if wan21.supports(k)} == {
        "create",
        "remix",
        "edit",
    }
    # Render sizes keep the aspect, fit the area cap and are whole patches (32 px for TI2V).
    assert ti2v.render_size(160, 288) == (32, 32) and wan21.render_size(160, 288) == (16, 48)
    # At Wan 2.2 TI2V-5B's 720p area, 720x1280 renders at its native 704x1280.
    wan22 = DiffusersBackend(**{**_backend_options(ti2v_dir), "max_area": 1280 * 704})
    assert wan22.render_size(720, 1280) == (704, 1280) and wan22.render_size(1792, 1024) == (1248, 704)
    # A 12-s clip past max_frames is rendered at fewer frames a second, still 12 s long.
    long = DiffusersBackend(**{**_backend_options(ti2v_dir), "fps": 24, "max_frames": 121})
    assert long.frame_plan(4) == (97, 24, 96) and long.frame_plan(12) == (121, 10, 120)
    assert not ti2v._pipelines  # nothing was loaded to answer


@pytest.mark.parametrize(
    ("index", "vae", "expected"),
    [
        # Wan 2.2 TI2V-5B as published: patchifying VAE, first-frame conditioning.
        (
            {"expand_timesteps": True},
            {"z_dim": 48, "patch_size": 2, "scale_factor_spatial": 16},
            {"create", "extend", "start_image"},
        ),
        # A patchifying VAE is seen from patch_size alone, whatever scale_factor_spatial says.
        ({"expand_timesteps": True}, {"z_dim": 48, "patch_size": 2}, {"create", "extend", "start_image"}),
        # Wan 2.2 T2V-A14B: two experts, which the video-to-video pipeline does not drive.
        ({"transformer_2": ["diffusers", "WanTransformer3DModel"], "boundary_ratio": 0.875}, {"z_dim": 16}, {"create"}),
        # Wan 2.1 T2V: its own VAE, one transformer.
        ({}, {"z_dim": 16}, {"create", "remix", "edit"}),
    ],
)
def test_capabilities_of_published_layouts(tmp_path, index, vae, expected):
    (tmp_path / "vae").mkdir()
    (tmp_path / "transformer").mkdir()
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline", **index}))
    (tmp_path / "vae" / "config.json").write_text(json.dumps({"temperal_downsample": [False, True, True], **vae}))
    (tmp_path / "transformer" / "config.json").write_text(json.dumps({"patch_size": [1, 2, 2]}))
    backend = DiffusersBackend(model_dir=str(tmp_path), device="cpu")
    assert {k for k in ("create", "remix", "edit", "extend", "start_image") if backend.supports(k)} == expected


def test_the_gpu_warm_up_loads_the_configured_model(ti2v_dir, use_model):
    from generation.handlers import warm_video_backend

    backend = use_model(ti2v_dir, "wan2.2-ti2v-tiny")
    assert not backend._pipelines
    warm_video_backend()
    assert isinstance(backend._pipelines["t2v"], diffusers.WanPipeline)
    assert backend.pipeline() is backend._pipelines["t2v"]  # loaded once


def test_a_folder_that_is_not_there_is_model_unavailable(tmp_path):
    from generation.backends.base import BackendError

    with pytest.raises(BackendError) as error:
        DiffusersBackend(model_dir=str(tmp_path / "missing")).supports("create")
    assert error.value.code == "model_unavailable" and not error.value.retryable


# --- renders through the whole job pipeline --------------------------------------------------------


@pytest.mark.django_db
def test_text_to_video_renders_a_signed_watermarked_draft(ti2v_dir, use_model, client_for, _no_dispatch, monkeypatch):
    use_model(ti2v_dir, "wan2.2-ti2v-tiny")
    t2v_calls = CallLog(monkeypatch, diffusers.WanPipeline)
    user = UserFactory()
    response = _submit(client_for(user), seed=7)
    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(public_id=response.json()["id"])
    assert job.backend == "diffusers"

    job = _run(job.pk)
    _assert_a_signed_watermarked_draft(job, model="wan2.2-ti2v-tiny")
    assert job.result_video.frame_count == 8 and job.result_video.fps == 2  # 4 s at 2 frames a second
    [call] = t2v_calls.calls
    assert call["prompt"] == ["a red ball bounces on the floor"]
    assert (call["width"], call["height"], call["num_frames"], call["num_inference_steps"]) == (32, 32, 9, 2)
    assert call["generator"][0].initial_seed() == 7
    # The user's drafts list it.
    drafts = client_for(user).get("/api/v1/drafts").json()["results"]
    assert [draft["id"] for draft in drafts] == [job.public_id]


@pytest.mark.django_db
def test_a_cameo_reference_is_the_start_image(ti2v_dir, use_model, client_for, _no_dispatch, monkeypatch):
    use_model(ti2v_dir, "wan2.2-ti2v-tiny")
    i2v_calls = CallLog(monkeypatch, diffusers.WanImageToVideoPipeline)
    t2v_calls = CallLog(monkeypatch, diffusers.WanPipeline)
    user = UserFactory()
    cameo = CameoFactory(owner=user)
    reference = np.zeros((64, 48, 3), np.uint8)
    reference[:, :24] = (220, 40, 40)  # left half red, right half blue: the crop is checkable
    reference[:, 24:] = (40, 40, 220)
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(reference).save(buffer, format="PNG")
    path = default_storage.save(f"cameos/test/{cameo.pk}/primary.png", ContentFile(buffer.getvalue()))
    CameoReference.objects.create(cameo=cameo, role="face", index=0, path=path, width=48, height=64, is_primary=True)

    response = _submit(client_for(user), prompt="a person waves on the beach", cameos=[str(cameo.pk)])
    assert response.status_code == 201, response.json()
    job = _run(GenerationJob.objects.get(public_id=response.json()["id"]).pk)
    _assert_a_signed_watermarked_draft(job, model="wan2.2-ti2v-tiny")

    assert t2v_calls.calls == []
    [call] = i2v_calls.calls
    start = np.asarray(call["image"])
    assert start.shape == (32, 32, 3)
    # Cover-fit of a 48x64 picture into 32x32 keeps its full width: red on the left, blue on the right.
    assert start[:, :12].mean(axis=(0, 1))[0] > 150 and start[:, -12:].mean(axis=(0, 1))[2] > 150
    assert call["num_frames"] == 9 and call["prompt"] == [job.prompt]


def test_two_cameos_share_the_start_image():
    red, blue = np.full((40, 40, 3), (200, 0, 0), np.uint8), np.full((40, 40, 3), (0, 0, 200), np.uint8)
    portrait = compose_start_image((red, blue), 32, 64)
    assert (portrait[:32] == (200, 0, 0)).all() and (portrait[32:] == (0, 0, 200)).all()
    landscape = compose_start_image((red, blue), 64, 32)
    assert (landscape[:, :32] == (200, 0, 0)).all() and (landscape[:, 32:] == (0, 0, 200)).all()


# --- batching and progress -------------------------------------------------------------------------


def test_compatible_requests_share_one_pipeline_call_with_progress_per_step(ti2v_dir, monkeypatch):
    backend = DiffusersBackend(**_backend_options(ti2v_dir))
    calls = CallLog(monkeypatch, diffusers.WanPipeline)
    progress = ProgressLog()
    requests = [
        RenderRequest(prompt="a red ball bounces", seed=1, seconds=4, width=160, height=288),
        RenderRequest(prompt="a cat plays piano", seed=2, seconds=4, width=160, height=288),
    ]
    results = backend.render(requests, progress)

    [call] = calls.calls  # one pass for both
    assert call["prompt"] == ["a red ball bounces", "a cat plays piano"]
    assert [g.initial_seed() for g in call["generator"]] == [1, 2]
    for index, result in enumerate(results):
        assert result.frames.shape == (8, 288, 160, 3) and result.frames.dtype == np.uint8
        assert (result.backend, result.fps, result.extra["mode"]) == ("diffusers", 2, "t2v")
        # One report per denoising step (2 steps), then done.
        assert progress.of(index) == [0.5, 1.0, 1.0]
    assert not np.array_equal(results[0].frames, results[1].frames)

    # A job's seed makes the same clip alone as in the batch.
    [alone] = backend.render([requests[1]], ProgressLog())
    assert np.abs(alone.frames.astype(int) - results[1].frames.astype(int)).max() <= 2

    # Other sizes or lengths are not compatible: separate calls.
    calls.calls.clear()
    backend.render(
        [requests[0], RenderRequest(prompt="a cat", seed=3, seconds=8, width=160, height=288)], ProgressLog()
    )
    assert [len(call["prompt"]) for call in calls.calls] == [1, 1]


def test_a_progress_callback_that_raises_stops_the_render(ti2v_dir):
    backend = DiffusersBackend(**_backend_options(ti2v_dir))

    class Cancelled(Exception):
        pass

    def cancel(index: int, fraction: float) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        backend.render([RenderRequest(prompt="a red ball", seed=1, seconds=4, width=160, height=288)], cancel)


# --- remix and extension: rendered where the model can, refused at submit where it cannot -------


def _completed_video(client_for, user) -> str:
    response = _submit(client_for(user), "/v1/videos", seconds="4", size=SIZE)
    assert response.status_code == 200, response.json()
    _run(GenerationJob.objects.get(public_id=response.json()["id"]).pk)
    return response.json()["id"]


@pytest.mark.django_db
def test_ti2v_extends_from_the_last_frame_and_refuses_a_remix_at_submit(
    ti2v_dir, use_model, client_for, _no_dispatch, monkeypatch
):
    use_model(ti2v_dir, "wan2.2-ti2v-tiny")
    user = UserFactory()
    api = client_for(user)
    video_id = _completed_video(client_for, user)
    jobs_before = GenerationJob.objects.count()

    remix = api.post(f"/v1/videos/{video_id}/remix", {"prompt": "now in green"}, format="json")
    assert remix.status_code == 422 and remix.json()["error"]["code"] == "remix_not_supported"
    edit = api.post("/v1/videos/edits", {"prompt": "now in green", "video": {"id": video_id}}, format="json")
    assert edit.status_code == 422 and edit.json()["error"]["code"] == "edit_not_supported"
    assert GenerationJob.objects.count() == jobs_before  # nothing queued, nothing charged

    i2v_calls = CallLog(monkeypatch, diffusers.WanImageToVideoPipeline)
    extension = api.post(
        "/v1/videos/extensions", {"prompt": "more", "seconds": "4", "video": {"id": video_id}}, format="json"
    )
    assert extension.status_code == 200, extension.json()
    job = _run(GenerationJob.objects.get(public_id=extension.json()["id"]).pk)
    _assert_a_signed_watermarked_draft(job, model="wan2.2-ti2v-tiny")
    [call] = i2v_calls.calls
    assert np.asarray(call["image"]).shape == (32, 32, 3)
    # The parent's 8 frames, then 8 new ones (the new clip's first frame, the parent's last, dropped).
    assert job.result_video.frame_count == 16


@pytest.mark.django_db
def test_wan21_remixes_video_to_video_and_refuses_extensions_and_cameos_at_submit(
    t2v_dir, use_model, client_for, _no_dispatch, monkeypatch
):
    use_model(t2v_dir, "wan2.1-t2v-tiny")
    user = UserFactory()
    api = client_for(user)
    video_id = _completed_video(client_for, user)
    jobs_before = GenerationJob.objects.count()

    extension = api.post(
        "/v1/videos/extensions", {"prompt": "more", "seconds": "4", "video": {"id": video_id}}, format="json"
    )
    assert extension.status_code == 422 and extension.json()["error"]["code"] == "extension_not_supported"
    cameo = CameoFactory(owner=user)
    with_cameo = _submit(api, cameos=[str(cameo.pk)])
    assert with_cameo.status_code == 422 and with_cameo.json()["error"]["code"] == "start_image_not_supported"
    assert GenerationJob.objects.count() == jobs_before

    v2v_calls = CallLog(monkeypatch, diffusers.WanVideoToVideoPipeline)
    remix = api.post(f"/v1/videos/{video_id}/remix", {"prompt": "now in green"}, format="json")
    assert remix.status_code == 200, remix.json()
    job = _run(GenerationJob.objects.get(public_id=remix.json()["id"]).pk)
    _assert_a_signed_watermarked_draft(job, model="wan2.1-t2v-tiny")
    [call] = v2v_calls.calls
    assert len(call["video"]) == 9 and call["video"][0].size == (16, 48)
    assert call["strength"] == pytest.approx(job.remix_strength)
    assert job.result_video.frame_count == 8
