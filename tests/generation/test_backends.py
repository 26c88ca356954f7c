"""Video backends: the remote one against a local server speaking the OpenAI Videos API (no
network), the embedded one with the shipped video model, and backend selection from settings."""

from __future__ import annotations

import io
import socket
import warnings

import numpy as np
import pytest
from PIL import Image

from generation.backends import base
from generation.backends.base import BackendError, RenderRequest, RenderResult, get_backend
from generation.backends.remote import RemoteBackend, split_remote_id
from tests.generation.fake_videos_server import FakeVideosServer

W, H = 64, 48  # small frames keep the fake server's encoding and our decoding fast


@pytest.fixture
def server():
    with FakeVideosServer(api_key="sk-test", poll_after_ms=20, polls_to_complete=3) as fake:
        yield fake


def _backend(server: FakeVideosServer, **overrides) -> RemoteBackend:
    options = dict(base_url=server.url, api_key="sk-test", model="wan2.2-t2v", poll_s=0.01, timeout_s=30.0)
    options.update(overrides)
    return RemoteBackend(**options)


def _request(prompt: str = "a red ball bounces on the floor", **overrides) -> RenderRequest:
    options = dict(prompt=prompt, seed=1, seconds=4, width=W, height=H)
    options.update(overrides)
    return RenderRequest(**options)


class ProgressLog:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def __call__(self, index: int, fraction: float) -> None:
        self.calls.append((index, fraction))

    def of(self, index: int) -> list[float]:
        return [fraction for i, fraction in self.calls if i == index]


def _vid(result: RenderResult) -> str:
    """The server's own id of a rendered video (remote_id is `<endpoint>:<id>`)."""
    endpoint, video_id = split_remote_id(result.remote_id)
    assert endpoint is not None
    return video_id


def _close(a: np.ndarray, b: np.ndarray, tolerance: float = 6.0) -> bool:
    return float(np.abs(a.astype(int) - b.astype(int)).mean()) < tolerance


# --- Remote: round trips ---------------------------------------------------------------------


def test_remote_round_trip_json(server):
    progress = ProgressLog()
    [result] = _backend(server).render([_request()], progress)
    assert isinstance(result, RenderResult)
    assert result.frames.shape == (4 * server.fps, H, W, 3) and result.frames.dtype == np.uint8
    assert result.fps == server.fps and result.backend == "remote" and result.model == "wan2.2-t2v"
    video = server.videos[_vid(result)]
    assert video.status == "completed"
    assert _close(result.frames, server.frames(video))
    create = next(r for r in server.requests if r.method == "POST")
    assert create.path == "/v1/videos" and create.content_type.startswith("application/json")
    assert create.fields == {
        "prompt": "a red ball bounces on the floor",
        "model": "wan2.2-t2v",
        "seconds": "4",
        "size": "64x48",
    }
    assert all(r.headers.get("authorization") == "Bearer sk-test" for r in server.requests)
    content = [r for r in server.requests if "/content" in r.path]
    assert len(content) == 1 and content[0].path.endswith("/content?variant=video")
    # Progress from the server's `progress` field, rising, ending at 1.
    fractions = progress.of(0)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < f < 1 for f in fractions)


def test_remote_multipart_input_reference(server):
    # A reference of another shape: it is centre-cropped to the output size, sent as PNG, and the
    # fake server starts its video with it.
    rng = np.random.default_rng(5)
    reference = np.repeat(np.repeat(rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8), 10, axis=0), 10, axis=1)
    [result] = _backend(server).render([_request(input_reference=reference)], ProgressLog())
    create = next(r for r in server.requests if r.method == "POST")
    assert create.content_type.startswith("multipart/form-data")
    assert create.fields == {
        "prompt": "a red ball bounces on the floor",
        "model": "wan2.2-t2v",
        "seconds": "4",
        "size": "64x48",
    }
    _filename, content_type, payload = create.files["input_reference"]
    assert content_type == "image/png"
    sent = np.asarray(Image.open(io.BytesIO(payload)).convert("RGB"))
    assert sent.shape == (H, W, 3)
    from generation.media import fit_image

    assert np.array_equal(sent, fit_image(reference, W, H))
    assert _close(result.frames[0], sent, tolerance=12)
    assert not _close(result.frames[-1], sent, tolerance=12)


def test_remote_poll_after_header_is_honoured():
    with FakeVideosServer(poll_after_ms=150, polls_to_complete=4) as fake:
        [result] = _backend(fake, api_key="", poll_s=0.001).render([_request()], ProgressLog())
        times = fake.poll_times[_vid(result)]
    assert len(times) == 4
    gaps = np.diff(times)
    assert gaps.min() >= 0.14, gaps


def test_remote_polls_every_poll_s_without_the_header():
    with FakeVideosServer(poll_after_ms=None, polls_to_complete=3) as fake:
        [result] = _backend(fake, api_key="", poll_s=0.2).render([_request()], ProgressLog())
        gaps = np.diff(fake.poll_times[_vid(result)])
    assert len(gaps) == 2 and gaps.min() >= 0.19, gaps


def test_remote_batch_submits_everything_then_polls(server):
    progress = ProgressLog()
    requests = [_request("a blue square slides"), _request("a green triangle jumps", seconds=8)]
    results = _backend(server).render(requests, progress)
    assert [r.frames.shape[0] for r in results] == [4 * server.fps, 8 * server.fps]
    methods = [r.method for r in server.requests if r.path != "/v1/models"]
    assert methods[:2] == ["POST", "POST"] and "POST" not in methods[2:]
    assert server.videos[_vid(results[0])].prompt == "a blue square slides"
    assert server.videos[_vid(results[1])].prompt == "a green triangle jumps"
    assert progress.of(0)[-1] == 1.0 and progress.of(1)[-1] == 1.0


def test_remote_remix_of_a_remote_parent_uses_the_remix_endpoint(server):
    backend = _backend(server)
    [parent] = backend.render([_request()], ProgressLog())
    remix_request = _request("make it night", remix_frames=parent.frames, remix_remote_id=parent.remote_id)
    [remix] = backend.render([remix_request], ProgressLog())
    post = [r for r in server.requests if r.method == "POST"][-1]
    assert post.path == f"/v1/videos/{_vid(parent)}/remix" and post.fields == {"prompt": "make it night"}
    assert server.videos[_vid(remix)].remixed_from_video_id == _vid(parent)
    assert remix.extra["remixed_from_video_id"] == _vid(parent)
    assert _close(remix.frames, 255 - parent.frames)


def test_remote_remix_of_a_local_parent_sends_its_first_frame(server):
    parent = np.zeros((6, H, W, 3), dtype=np.uint8)
    parent[0, :, : W // 2] = 200  # a first frame the server will echo back
    parent[1:] = 30
    _backend(server).render([_request("make it night", remix_frames=parent)], ProgressLog())
    post = [r for r in server.requests if r.method == "POST"][-1]
    assert post.path == "/v1/videos"
    sent = np.asarray(Image.open(io.BytesIO(post.files["input_reference"][2])).convert("RGB"))
    assert np.array_equal(sent, parent[0])


def test_remote_extension_starts_from_the_last_frame(server):
    clip = np.full((5, H, W, 3), 40, dtype=np.uint8)
    clip[-1] = 220
    _backend(server).render([_request("keep going", extend_frames=clip)], ProgressLog())
    post = [r for r in server.requests if r.method == "POST"][-1]
    sent = np.asarray(Image.open(io.BytesIO(post.files["input_reference"][2])).convert("RGB"))
    assert np.array_equal(sent, clip[-1])


def test_remote_output_at_another_size_is_fitted_to_the_request():
    # The server renders 96x72 whatever was asked; the backend crops/scales to 64x48.
    with FakeVideosServer(poll_after_ms=10) as fake:
        original = fake.create

        def create_at_server_size(fields, reference, parent=None):
            return original({**fields, "size": "96x72"}, reference, parent)

        fake.create = create_at_server_size
        [result] = _backend(fake, api_key="").render([_request()], ProgressLog())
    assert result.frames.shape == (4 * fake.fps, H, W, 3)


# --- Remote: errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "code", "retryable"),
    [
        ("[reject] a ball", "invalid_prompt", False),  # 400 with an error body
        ("[crash] a ball", "remote_busy", True),  # 500: the endpoint cools down, the job waits
        ("[fail:moderation_blocked] a ball", "moderation_blocked", False),  # the video ends `failed`
        ("[fail:internal_error] a ball", "internal_error", True),  # ... with a transient code
    ],
)
def test_remote_errors_are_mapped(server, prompt, code, retryable):
    with pytest.raises(BackendError) as caught:
        _backend(server).render([_request(prompt)], ProgressLog())
    assert caught.value.code == code and caught.value.retryable is retryable
    assert caught.value.message
    # Only "every server is busy or down" makes the job wait (retry_after_s) rather than retry.
    assert (caught.value.retry_after_s is not None) is (code == "remote_busy")


def test_remote_invalid_seconds_is_a_client_error(server):
    with pytest.raises(BackendError) as caught:
        _backend(server).render([_request(seconds=5)], ProgressLog())
    assert caught.value.code == "invalid_value" and not caught.value.retryable


def test_remote_wrong_api_key_is_not_retryable(server):
    with pytest.raises(BackendError) as caught:
        _backend(server, api_key="sk-wrong").render([_request()], ProgressLog())
    assert caught.value.code == "invalid_api_key" and not caught.value.retryable


def test_remote_timeout_is_retryable_and_cancels_the_render():
    with FakeVideosServer(poll_after_ms=50) as fake:
        with pytest.raises(BackendError) as caught:
            _backend(fake, api_key="", timeout_s=0.4).render([_request("[stuck] a ball")], ProgressLog())
        assert caught.value.code == "remote_timeout" and caught.value.retryable
        [video] = fake.videos.values()
        assert video.deleted  # the backend asked the server to drop it
        assert 3 <= len(fake.poll_times[video.id]) <= 10


def test_remote_failure_in_a_batch_cancels_the_others(server):
    requests = [_request("[stuck] a ball"), _request("[fail:moderation_blocked] a box")]
    with pytest.raises(BackendError) as caught:
        _backend(server).render(requests, ProgressLog())
    assert caught.value.code == "moderation_blocked"
    stuck = next(v for v in server.videos.values() if "[stuck]" in v.prompt)
    assert stuck.deleted


def test_remote_unreachable_server_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = RemoteBackend(base_url=f"http://127.0.0.1:{port}/v1", model="m", request_timeout_s=2)
    with pytest.raises(BackendError) as caught:
        backend.render([_request()], ProgressLog())
    assert caught.value.code == "remote_busy" and caught.value.retryable
    assert caught.value.retry_after_s >= 1 and "could not be reached" in caught.value.message


def test_remote_sends_a_cameo_as_the_reference_image_and_refuses_what_it_cannot_send(server):
    face = np.full((16, 16, 3), 180, dtype=np.uint8)
    _backend(server).render([_request(cameo_images=(face,))], ProgressLog())
    post = next(r for r in server.requests if r.method == "POST")
    sent = np.asarray(Image.open(io.BytesIO(post.files["input_reference"][2])).convert("RGB"))
    assert sent.shape == (H, W, 3) and int(sent.mean()) == 180
    posts = len([r for r in server.requests if r.method == "POST"])
    for request, code in (
        (_request(cameo_images=(face, face)), "one_reference_only"),
        (_request(cameo_images=(face,), input_reference=face), "one_reference_only"),
    ):
        with pytest.raises(BackendError) as caught:
            _backend(server).render([request], ProgressLog())
        assert caught.value.code == code and not caught.value.retryable
    # An endpoint that takes no reference image is never sent a cameo job.
    blind = _backend(server, endpoints=[{"name": "t2v", "url": server.url, "api_key": "sk-test", "capabilities": []}])
    with pytest.raises(BackendError) as caught:
        blind.render([_request(cameo_images=(face,))], ProgressLog())
    assert caught.value.code == "cameos_unsupported" and not caught.value.retryable
    assert len([r for r in server.requests if r.method == "POST"]) == posts


def test_remote_needs_a_url():
    with pytest.raises(BackendError) as caught:
        RemoteBackend(base_url="", model="m")
    assert caught.value.code == "remote_not_configured"


# --- The fake server speaks what the official SDK speaks -------------------------------------


def test_fake_server_works_with_the_openai_sdk(server):
    import openai

    client = openai.OpenAI(base_url=server.url, api_key="sk-test", max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        video = client.videos.create_and_poll(prompt="a ball", seconds="4", size="64x48", poll_interval_ms=10)
        assert video.status == "completed" and video.progress == 100
        content = client.videos.download_content(video.id, variant="video").read()
    from generation.media import probe_mp4

    assert probe_mp4(content)["frame_count"] == 4 * server.fps


# --- Request validation --------------------------------------------------------------------------


def test_render_request_validation():
    with pytest.raises(ValueError):
        _request(width=65)
    with pytest.raises(ValueError):
        _request(prompt="  ")
    with pytest.raises(ValueError):
        face = np.zeros((8, 8, 3), dtype=np.uint8)
        _request(cameo_images=(face, face, face))
    with pytest.raises(ValueError):
        _request(remix_frames=np.zeros((4, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError):
        _request(remix_strength=1.5)
    assert _request().size == "64x48" and _request().batch_key() == (4, 64, 48)


# --- Selection from settings ---------------------------------------------------------------------


def test_get_backend_reads_settings_and_caches(settings, server):
    base.reset_backends()
    settings.GENERATION_BACKEND = "remote"
    settings.GENERATION_REMOTE_URL = server.url
    settings.GENERATION_REMOTE_API_KEY = "sk-test"
    settings.GENERATION_REMOTE_MODEL = "wan2.2-t2v"
    settings.GENERATION_REMOTE_POLL_S = 0.01
    settings.GENERATION_REMOTE_TIMEOUT_S = 30.0
    try:
        backend = get_backend()
        assert isinstance(backend, RemoteBackend) and backend is get_backend("remote")
        assert isinstance(backend, base.VideoBackend)
        [result] = backend.render([_request()], base.noop_progress)
        assert result.frames.shape[1:] == (H, W, 3)
        with pytest.raises(BackendError) as caught:
            get_backend("nonsense")
        assert caught.value.code == "unknown_backend" and not caught.value.retryable
    finally:
        base.reset_backends()


# --- Embedded ------------------------------------------------------------------------------------
# Two kinds of tests: the backend around the real pipeline code with a tiny, freshly initialised
# model (plumbing: sizes, order, seeds, errors; quick on CPU), and the shipped model itself
# once its weights are committed.


def _pipeline_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("generation.video_model.pipeline") is None:
        return "generation/video_model/pipeline.py is not there"
    return None


def _weights_missing() -> str | None:
    if _pipeline_missing():
        return _pipeline_missing()
    from generation.video_model.training import SHIPPED_WEIGHTS

    if not SHIPPED_WEIGHTS.is_file():
        return f"the video model's shipped weights ({SHIPPED_WEIGHTS.name}) are not committed yet"
    return None


needs_pipeline = pytest.mark.skipif(_pipeline_missing() is not None, reason=str(_pipeline_missing()))
needs_weights = pytest.mark.skipif(_weights_missing() is not None, reason=str(_weights_missing()))


def test_embedded_device_resolution():
    import torch

    from generation.backends.embedded import resolve_device

    assert resolve_device("cpu") == "cpu" and resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_embedded_batches_compatible_requests_on_cuda_only():
    from generation.backends.embedded import EmbeddedBackend

    requests = [
        _request("a", seconds=4),
        _request("b", seconds=8),
        _request("c", seconds=4),
        _request("d", seconds=4, width=72),
        _request("e", seconds=4),
    ]
    # A pipeline object is passed so nothing is loaded; only the grouping is exercised.
    gpu = EmbeddedBackend(device="cuda", pipeline=object(), max_batch=2)
    assert gpu.batches
    assert sorted(gpu._groups(requests)) == sorted([[0, 2], [4], [1], [3]])
    cpu = EmbeddedBackend(device="cpu", pipeline=object())
    assert not cpu.batches and cpu._groups(requests) == [[0], [1], [2], [3], [4]]


@pytest.fixture(scope="module")
def tiny_embedded():
    """The embedded backend over the real VideoModelPipeline with a tiny random-weight STDiT."""
    import torch

    from generation.backends.embedded import EmbeddedBackend
    from generation.video_model.model import ModelConfig, STDiT
    from generation.video_model.pipeline import VideoModelPipeline

    torch.manual_seed(0)
    model = STDiT(ModelConfig(dim=32, depth=1, heads=2))
    with torch.no_grad():
        for parameter in model.parameters():  # past adaLN-Zero's zero init, so the net does something
            parameter.add_(torch.randn_like(parameter) * 0.05)
    pipe = VideoModelPipeline(model, device="cpu", name="tiny-test-stdit")
    return EmbeddedBackend(device="cpu", pipeline=pipe)


@needs_pipeline
def test_embedded_renders_at_the_requested_size(tiny_embedded):
    progress = ProgressLog()
    [result] = tiny_embedded.render([_request("a red ball bounces", width=720, height=1280)], progress)
    pipe = tiny_embedded.pipeline()
    assert result.frames.shape == (4 * pipe.fps, 1280, 720, 3) and result.frames.dtype == np.uint8
    assert result.fps == pipe.fps and result.model == "tiny-test-stdit" and result.backend == "embedded"
    fractions = progress.of(0)
    assert fractions[-1] == 1.0 and fractions == sorted(fractions) and len(fractions) > 2


@needs_pipeline
def test_embedded_same_seed_same_frames(tiny_embedded):
    request = _request("a blue square slides to the left", seed=11)
    [first], [again] = tiny_embedded.render([request], ProgressLog()), tiny_embedded.render([request], ProgressLog())
    assert np.array_equal(first.frames, again.frames)
    [other] = tiny_embedded.render([_request("a blue square slides to the left", seed=12)], ProgressLog())
    assert not np.array_equal(first.frames, other.frames)


@needs_pipeline
def test_embedded_batch_keeps_order_and_matches_single_renders(tiny_embedded):
    requests = [_request("a red ball bounces", seed=1), _request("a green triangle jumps", seed=2, seconds=8)]
    progress = ProgressLog()
    results = tiny_embedded.render(requests, progress)
    fps = tiny_embedded.pipeline().fps
    assert [r.frames.shape for r in results] == [(4 * fps, H, W, 3), (8 * fps, H, W, 3)]
    [alone] = tiny_embedded.render([requests[1]], ProgressLog())
    assert np.array_equal(alone.frames, results[1].frames)
    assert progress.of(0)[-1] == 1.0 and progress.of(1)[-1] == 1.0


@needs_pipeline
def test_embedded_passes_cameos_remix_and_start_image(tiny_embedded):
    face = np.full((40, 30, 3), 200, dtype=np.uint8)
    parent = np.random.default_rng(2).integers(0, 256, size=(32, H, W, 3), dtype=np.uint8)
    start = np.zeros((H, W, 3), dtype=np.uint8)
    clip = tiny_embedded._clip_request(
        _request("x", seed=3, cameo_images=(face,), remix_frames=parent, remix_strength=0.3, input_reference=start)
    )
    assert len(clip.cameo_images) == 1 and clip.remix_frames is parent and clip.remix_strength == 0.3
    # The start image becomes a one-frame extension context.
    assert clip.extend_frames.shape == (1, H, W, 3)
    # Remix at strength 0 is the parent itself (the pipeline's contract), at the requested size.
    [same] = tiny_embedded.render([_request("x", remix_frames=parent, remix_strength=0.0)], ProgressLog())
    from generation.video_model.pipeline import resize_clip, upscale_frames

    expected = upscale_frames(resize_clip(parent, tiny_embedded.pipeline().width, 32), width=W, height=H)
    assert np.array_equal(same.frames, expected)
    [with_cameo] = tiny_embedded.render([_request("x", seed=3, cameo_images=(face,))], ProgressLog())
    [without] = tiny_embedded.render([_request("x", seed=3)], ProgressLog())
    assert not np.array_equal(with_cameo.frames, without.frames)


@needs_pipeline
def test_embedded_model_refusal_is_not_retryable(tiny_embedded):
    with pytest.raises(BackendError) as caught:
        tiny_embedded.render([_request("too long", seconds=60)], ProgressLog())
    assert caught.value.code == "invalid_request" and not caught.value.retryable


def test_embedded_missing_checkpoint_is_reported(tmp_path):
    from generation.backends.embedded import EmbeddedBackend

    if _pipeline_missing():
        pytest.skip(_pipeline_missing())
    backend = EmbeddedBackend(device="cpu", checkpoint=str(tmp_path / "nope.pt"))
    with pytest.raises(BackendError) as caught:
        backend.render([_request()], ProgressLog())
    assert caught.value.code == "model_unavailable" and not caught.value.retryable


@pytest.fixture(scope="module")
def shipped_embedded():
    from generation.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(device="cpu")


@needs_weights
def test_shipped_model_renders_at_the_requested_size_reproducibly(shipped_embedded):
    request = _request("a red ball drops and bounces twice", seed=42, width=720, height=1280)
    [first] = shipped_embedded.render([request], ProgressLog())
    pipe = shipped_embedded.pipeline()
    assert first.frames.shape == (4 * pipe.fps, 1280, 720, 3) and first.model == pipe.model_name
    assert first.frames.std() > 1  # a picture, not a blank
    [again] = shipped_embedded.render([request], ProgressLog())
    assert np.array_equal(first.frames, again.frames)


@needs_pipeline
def test_embedded_lets_the_callers_abort_through(tiny_embedded):
    """A progress callback that stops the render (a cancelled job) surfaces as itself, not as a
    retryable render failure."""

    class Stop(Exception):
        pass

    def stop(index: int, fraction: float) -> None:
        if fraction > 0:
            raise Stop("cancelled")

    with pytest.raises(Stop):
        tiny_embedded.render([_request("a red ball bounces")], stop)
