"""Sampling through every stage with a tiny model, and the shipped checkpoint when present."""

from __future__ import annotations

import numpy as np
import pytest

from generation.video_model.pipeline import ClipRequest, VideoModelPipeline, resize_clip, upscale_frames
from generation.video_model.training import SHIPPED_WEIGHTS


def _req(**kw):
    base = {"prompt": "a red ball drops and bounces twice", "seed": 42, "steps": 3}
    base.update(kw)
    return ClipRequest(**base)


def test_text_to_video_shapes_and_progress(tiny_pipe):
    seen = []
    [clip] = tiny_pipe.generate([_req()], progress=seen.append)
    assert clip.shape == (4 * tiny_pipe.fps, tiny_pipe.height, tiny_pipe.width, 3) and clip.dtype == np.uint8
    assert seen[-1] == 1.0 and seen == sorted(seen) and all(0 <= f <= 1 for f in seen)


def test_same_seed_same_video_other_seed_other_video(tiny_pipe):
    [a], [b] = tiny_pipe.generate([_req()]), tiny_pipe.generate([_req()])
    [c] = tiny_pipe.generate([_req(seed=43)])
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # A request's frames do not depend on what else is asked for in the same call.
    _, again = tiny_pipe.generate([_req(seed=7, prompt="a blue square slides left"), _req()])
    assert np.array_equal(a, again)


@pytest.mark.parametrize("seconds", [4, 8, 12])
def test_longer_clips_are_made_by_extension(tiny_pipe, seconds):
    [clip] = tiny_pipe.generate([_req(seconds=seconds, steps=2)])
    assert clip.shape == (seconds * tiny_pipe.fps, 32, 32, 3)


def test_cameo_remix_and_extension_shapes(tiny_pipe):
    rng = np.random.default_rng(0)
    face = rng.integers(0, 255, (120, 90, 3), dtype=np.uint8)
    parent = rng.integers(0, 255, (45, 128, 72, 3), dtype=np.uint8)
    clips = tiny_pipe.generate(
        [
            _req(cameo_images=[face]),
            _req(cameo_images=[face, face[::-1]]),
            _req(remix_frames=parent, remix_strength=0.5),
            _req(extend_frames=parent, seconds=4),
            _req(extend_frames=parent[:1], seconds=8),  # a still image to start from
        ]
    )
    assert [c.shape[0] for c in clips] == [32, 32, 32, 32, 64]
    assert all(c.shape[1:] == (32, 32, 3) for c in clips)
    [with_cameo] = tiny_pipe.generate([_req(cameo_images=[face])])
    assert not np.array_equal(with_cameo, tiny_pipe.generate([_req()])[0])


def test_remix_at_strength_zero_returns_the_parent(tiny_pipe):
    parent = np.random.default_rng(1).integers(0, 255, (32, 64, 64, 3), dtype=np.uint8)
    [same] = tiny_pipe.generate([_req(remix_frames=parent, remix_strength=0.0)])
    assert np.array_equal(same, resize_clip(parent, 32, 32))
    # A parent already at model size and length comes back bit for bit.
    small = parent[:, ::2, ::2]
    assert np.array_equal(tiny_pipe.generate([_req(remix_frames=small, remix_strength=0.0)])[0], small)
    [full] = tiny_pipe.generate([_req(remix_frames=parent, remix_strength=1.0)])
    [fresh] = tiny_pipe.generate([_req()])
    assert np.array_equal(full, fresh)  # strength 1 ignores the parent


def test_bad_requests_are_refused(tiny_pipe):
    face = np.zeros((8, 8, 3), np.uint8)
    for bad in (
        _req(cameo_images=[face, face, face]),
        _req(seconds=0),
        _req(remix_frames=np.zeros((4, 8, 8, 3), np.uint8), remix_strength=1.5),
        _req(remix_frames=np.zeros((8, 8), np.uint8)),
    ):
        with pytest.raises(ValueError):
            tiny_pipe.generate([bad])


def test_upscale_letterboxes_to_any_size():
    clip = np.random.default_rng(2).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    big = upscale_frames(clip, width=720, height=1280)
    assert big.shape == (3, 1280, 720, 3) and big.dtype == np.uint8
    # The square picture fills the width; the band above repeats the top row.
    assert np.array_equal(big[0, 0], big[0, 100])
    assert upscale_frames(clip, width=1280, height=720).shape == (3, 720, 1280, 3)
    assert upscale_frames(clip, width=96, height=160).shape == (3, 160, 96, 3)


@pytest.mark.skipif(not SHIPPED_WEIGHTS.exists(), reason="no shipped weights yet")
def test_shipped_checkpoint_loads_fast_and_draws_the_colour_asked_for():
    import time

    from generation.video_model import evaluation
    from tests.video_model.conftest import fake_embed  # noqa: F401  (MiniLM is needed here)

    started = time.monotonic()
    pipe = VideoModelPipeline.load()
    assert time.monotonic() - started < 5
    assert pipe.model_name == "sora-social-stdit-v1" and (pipe.height, pipe.width, pipe.fps) == (32, 32, 8)
    [clip] = pipe.generate([ClipRequest(prompt="a red ball drops and bounces twice", seed=3)])
    colour, _ = evaluation.judge_appearance(evaluation.main_track(clip))
    assert colour == "red"
