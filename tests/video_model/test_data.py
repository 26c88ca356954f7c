"""The procedural clip generator: shapes, physics and captions that fit the clip."""

from __future__ import annotations

import numpy as np
import pytest

from generation.video_model import data, evaluation


@pytest.mark.parametrize("motion", data.MOTIONS)
def test_every_motion_renders_a_clip(motion):
    rng = np.random.default_rng(1)
    spec = data.sample_clip_spec(rng, motion=motion)
    clip = data.render_clip(spec)
    assert clip.shape == (32, 32, 32, 3) and clip.dtype == np.uint8
    assert spec.tracks.shape == (len(spec.objects), 32, 2)
    # Something other than the empty room is drawn in every frame.
    diff = np.abs(clip.astype(int) - data.background(32)).max(-1)
    assert (diff > 40).reshape(32, -1).any(1).all()


def test_generator_is_reproducible_from_its_seed():
    a = data.sample_example(np.random.default_rng(7))
    b = data.sample_example(np.random.default_rng(7))
    assert a.caption == b.caption and np.array_equal(a.video, b.video) and np.array_equal(a.refs, b.refs)


def test_a_dropped_object_accelerates_downward_and_bounces_lower_each_time():
    rng = np.random.default_rng(3)
    for _ in range(10):
        spec = data.sample_clip_spec(rng, motion="drop")
        track = evaluation.main_track(data.render_clip(spec))
        res = evaluation.judge_physics(track, 8, spec.gravity)
        assert res["steady_fall"] and res["bounces_lose_height"], res
        assert res["accel"] == pytest.approx(spec.gravity, rel=0.35)


def test_captions_say_what_the_clip_shows():
    rng = np.random.default_rng(5)
    for _ in range(40):
        ex = data.sample_example(rng, p_cameo=0.0)
        main = ex.spec.objects[0]
        assert main.colour in ex.caption
        assert any(word in ex.caption for word in data.SHAPE_WORDS[main.shape])
        if ex.spec.motion in ("slide", "roll", "throw"):
            assert ex.spec.direction in ex.caption
            dx = ex.spec.tracks[0, -1, 0] - ex.spec.tracks[0, 0, 0]
            assert (dx > 0) == (ex.spec.direction == "right")


def test_cameo_examples_carry_their_reference_and_draw_it():
    rng = np.random.default_rng(9)
    ex = data.sample_example(rng, p_cameo=1.0, p_two_cameos=0.0)
    assert ex.n_refs == 1 and ex.refs[0].any() and not ex.refs[1].any()
    assert ex.spec.objects[0].shape == data.CAMEO
    side = 2 * ex.spec.objects[0].radius
    res = evaluation.judge_cameo(ex.video, ex.refs[0], [data.random_texture(rng) for _ in range(3)], side)
    assert res["frames"] > 0 and res["psnr"] > 12 and res["identified"] > 0.5


def test_reference_images_of_any_size_become_ref_size_squares():
    img = np.random.default_rng(0).integers(0, 255, (300, 200, 3), dtype=np.uint8)
    assert data.resize_reference(img).shape == (data.REF_SIZE, data.REF_SIZE, 3)
    assert data.resize_reference(img[:5, :7, 0]).shape == (data.REF_SIZE, data.REF_SIZE, 3)


def test_every_caption_key_has_captions():
    keys = data.all_caption_keys()
    assert len(keys) > 1000
    for key in keys[::97]:
        assert data.captions_for_key(key, limit=data.caption_limit(key))
