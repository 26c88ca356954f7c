"""The remote backend against fleets: vLLM-Omni's extension fields, capability discovery,
routing by model and health, waiting out 429s and 5xx, cancel and delete on the fleet.

Every server here is a real HTTP server in a thread (tests/generation/fake_videos_server.py);
the `vllm-omni` one takes only what vLLM-Omni's documented /v1/videos takes.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from generation.backends.base import BackendError, RenderRequest
from generation.backends.remote import RemoteBackend, split_remote_id, wan_frame_count
from tests.generation.fake_videos_server import FakeVideosServer

W, H = 64, 48


def _request(prompt: str = "a red ball bounces", **overrides) -> RenderRequest:
    return RenderRequest(**{"prompt": prompt, "seed": 1234, "seconds": 4, "width": W, "height": H, **overrides})


def _endpoint(server: FakeVideosServer, name: str, **extra) -> dict:
    return {"name": name, "url": server.url, **extra}


def _backend(*endpoints: dict, **options) -> RemoteBackend:
    return RemoteBackend(
        endpoints=endpoints, model="wan2.2-t2v", **{"poll_s": 0.01, "timeout_s": 30.0, "backoff_s": 0.05, **options}
    )


def _posts(server: FakeVideosServer) -> list:
    return [r for r in server.requests if r.method == "POST"]


def _nothing(index: int, fraction: float) -> None:
    pass


def test_vllm_omni_gets_its_extension_fields_as_multipart_and_renders_what_they_ask():
    with FakeVideosServer(flavour="vllm-omni", models=["wan2.2-t2v"], poll_after_ms=10) as fleet:
        backend = _backend(
            _endpoint(fleet, "omni", flavour="vllm-omni"),
            steps=30,
            guidance_scale=5.0,
            negative_prompt="blurry, low quality",
            fps=16,
        )
        [result] = backend.render([_request(client_ref="video_abc-1")], _nothing)
    [create] = _posts(fleet)
    assert create.content_type.startswith("multipart/form-data")
    assert create.fields == {
        "prompt": "a red ball bounces",
        "model": "wan2.2-t2v",
        "seconds": "4",
        "size": f"{W}x{H}",
        "seed": "1234",
        "negative_prompt": "blurry, low quality",
        "num_inference_steps": "30",
        "guidance_scale": "5.0",
        "fps": "16",
        "num_frames": str(wan_frame_count(4, 16)),
    }
    assert create.headers["idempotency-key"] == "video_abc-1"
    # The server rendered what the fields asked: 65 frames at 16 fps.
    assert (result.frames.shape[0], result.fps) == (65, 16) and wan_frame_count(4, 16) == 65
    assert split_remote_id(result.remote_id)[0] == "omni" and result.extra["endpoint"] == "omni"


def test_vllm_omni_takes_a_cameo_as_its_input_reference_image():
    face = np.zeros((32, 32, 3), dtype=np.uint8)
    face[:, :16] = 250
    with FakeVideosServer(flavour="vllm-omni", poll_after_ms=10) as fleet:
        [result] = _backend(_endpoint(fleet, "omni", flavour="vllm-omni")).render(
            [_request(cameo_images=(face,))], _nothing
        )
    [create] = _posts(fleet)
    sent = np.asarray(Image.open(io.BytesIO(create.files["input_reference"][2])).convert("RGB"))
    assert sent.shape == (H, W, 3) and sent[:, : W // 4].mean() > 200 and sent[:, -W // 4 :].mean() < 50
    assert "seed" in create.fields
    # The fake vLLM-Omni starts its video with the reference it was given.
    assert np.abs(result.frames[0].astype(int) - sent.astype(int)).mean() < 16


def test_an_openai_endpoint_is_sent_no_extension_field_it_would_refuse():
    # The fake's OpenAI flavour answers 400 to any unknown field, as strict servers do.
    with FakeVideosServer(poll_after_ms=10) as plain:
        _backend(_endpoint(plain, "openai"), steps=30, fps=16, negative_prompt="x").render([_request()], _nothing)
    assert set(_posts(plain)[0].fields) == {"prompt", "model", "seconds", "size"}


def test_discovery_routes_by_model_and_refuses_a_model_nobody_serves():
    with (
        FakeVideosServer(models=["ltx-video"], poll_after_ms=10) as ltx,
        FakeVideosServer(models=["wan2.2-t2v"], poll_after_ms=10) as wan,
    ):
        backend = _backend(_endpoint(ltx, "ltx"), _endpoint(wan, "wan"))
        [result] = backend.render([_request()], _nothing)
        assert result.remote_id.startswith("wan:") and _posts(ltx) == []
        assert backend.refusal(kind="create", cameo_count=0, has_input_reference=False) is None
        nobody = _backend(_endpoint(ltx, "ltx"))
        with pytest.raises(BackendError) as caught:
            nobody.render([_request()], _nothing)
        assert caught.value.code == "model_not_served" and not caught.value.retryable
        refusal = nobody.refusal(kind="create", cameo_count=0, has_input_reference=False)
        assert refusal is not None and refusal.code == "model_not_served"


def test_submit_time_refusals_from_what_the_endpoints_support():
    with FakeVideosServer() as server:
        text_only = _backend(_endpoint(server, "t2v", capabilities=["seed"]))
        both = _backend(_endpoint(server, "t2v", capabilities=["seed"]), _endpoint(server, "i2v", flavour="vllm-omni"))
    assert text_only.refusal(kind="create", cameo_count=0, has_input_reference=False) is None
    assert text_only.refusal(kind="create", cameo_count=1, has_input_reference=False).code == "cameos_unsupported"
    assert (
        text_only.refusal(kind="create", cameo_count=0, has_input_reference=True).code == "input_reference_unsupported"
    )
    assert text_only.refusal(kind="remix", cameo_count=0, has_input_reference=False).code == (
        "input_reference_unsupported"
    )
    assert both.refusal(kind="create", cameo_count=1, has_input_reference=False) is None
    assert both.refusal(kind="create", cameo_count=2, has_input_reference=False).code == "too_many_cameos_for_model"
    assert both.refusal(kind="extend", cameo_count=1, has_input_reference=False).code == "one_reference_only"


def test_a_429_everywhere_makes_the_job_wait_for_retry_after_then_it_renders():
    with FakeVideosServer(busy_posts=1, retry_after=1, poll_after_ms=10) as fleet:
        backend = _backend(_endpoint(fleet, "only"))
        with pytest.raises(BackendError) as caught:
            backend.render([_request()], _nothing)
        busy = caught.value
        assert busy.code == "remote_busy" and busy.retryable and 0.9 <= busy.retry_after_s <= 1.0
        assert "Too many requests" in busy.message and fleet.videos == {}
        # Still cooling down: no request is sent, the wait is what is left of it.
        with pytest.raises(BackendError) as again:
            backend.render([_request()], _nothing)
        assert again.value.code == "remote_busy" and len(_posts(fleet)) == 1
        time.sleep(busy.retry_after_s)
        [result] = backend.render([_request()], _nothing)
    assert result.frames.shape[1:] == (H, W, 3) and len(_posts(fleet)) == 2


def test_a_busy_or_broken_endpoint_is_passed_over_for_a_healthy_one():
    with (
        FakeVideosServer(busy_posts=5, retry_after=30, poll_after_ms=10) as busy,
        FakeVideosServer(poll_after_ms=10) as healthy,
    ):
        backend = _backend(_endpoint(busy, "a"), _endpoint(healthy, "b"))
        first = backend.render([_request("one")], _nothing)[0]
        second = backend.render([_request("two")], _nothing)[0]
    assert first.remote_id.startswith("b:") and second.remote_id.startswith("b:")
    # The busy one was asked once, then left alone for its Retry-After.
    assert len(_posts(busy)) == 1 and len(_posts(healthy)) == 2
    [a, _b] = backend.endpoints
    assert a.failures == 1 and a.cooldown_until - time.monotonic() > 25


def test_polls_answered_503_are_waited_out_while_the_server_renders():
    with FakeVideosServer(failing_polls=3, poll_after_ms=10) as fleet:
        [result] = _backend(_endpoint(fleet, "f")).render([_request()], _nothing)
    assert result.frames.shape[0] > 0 and fleet.failing_polls == 0


def test_a_cancelled_job_deletes_its_render_on_the_fleet():
    class Cancelled(Exception):
        pass

    def cancelled_at_first_poll(index: int, fraction: float) -> None:
        raise Cancelled  # as generation's progress callback raises JobNotRunnable

    with FakeVideosServer(poll_after_ms=10, polls_to_complete=50) as fleet:
        with pytest.raises(Cancelled):
            _backend(_endpoint(fleet, "f")).render([_request()], cancelled_at_first_poll)
        [video] = fleet.videos.values()
        assert video.deleted and any(r.method == "DELETE" for r in fleet.requests)


def test_delete_remote_deletes_on_the_endpoint_that_rendered_it():
    with FakeVideosServer(poll_after_ms=10) as a, FakeVideosServer(poll_after_ms=10) as b:
        backend = _backend(_endpoint(a, "a", models=["other"]), _endpoint(b, "b"))
        [result] = backend.render([_request()], _nothing)
        assert backend.delete_remote(result.remote_id) is True
        assert b.videos[split_remote_id(result.remote_id)[1]].deleted
        assert not any(r.method == "DELETE" for r in a.requests)
        assert backend.delete_remote(result.remote_id) is True  # already gone (404): done
