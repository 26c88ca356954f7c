import numpy as np
import pytest

from moderation.policy import media
from tools.moderation.evaluation import reencode, sample_photos, synthetic_clip


@pytest.fixture(scope="module")
def removed():
    return synthetic_clip(1)


def test_frame_hashes_are_hex_and_skip_flat_frames(removed):
    hashes = media.frame_hashes(removed)
    assert 1 <= len(hashes) <= media.HASH_FRAMES
    assert all(len(h) == 16 and int(h, 16) >= 0 for h in hashes)
    black = [np.zeros((64, 64, 3), np.uint8)] * 4
    assert media.frame_hashes(black) == []
    # A banned video that starts black must not ban every black frame.
    assert media.check_banned_media(black + removed, media.frame_hashes(black + removed)).blocked
    assert media.check_banned_media(black, media.frame_hashes(black + removed)).allowed


def test_reencoded_copy_of_banned_media_is_blocked(removed):
    banned = media.frame_hashes(removed)
    copy = reencode(removed, scale=0.5)
    result = media.check_banned_media(copy, banned)
    assert result.blocked and result.code == "banned_media_match"
    assert result.scores["min_hamming_distance"] <= media.BANNED_MAX_DISTANCE


def test_unrelated_media_is_not_matched(removed):
    banned = media.frame_hashes(removed)
    for seed in range(2, 8):
        result = media.check_banned_media(synthetic_clip(seed), banned)
        assert result.allowed and result.scores["min_hamming_distance"] > media.BANNED_MAX_DISTANCE


def test_malformed_banned_entries_are_ignored(removed):
    assert media.check_banned_media(removed, ["not-a-hash", ""]).allowed


def test_nudity_detector_runs_offline_and_allows_benign_frames(removed):
    frames = removed + sample_photos()
    result = media.check_nudity(frames)
    assert result.allowed and result.layer == "nudity"
    assert set(media.EXPOSED_CLASSES) <= {k.upper() for k in result.scores}


def test_check_media_combines_both(removed):
    banned = media.frame_hashes(removed)
    blocked = media.check_media(removed, banned_hashes=banned)
    assert blocked.blocked and blocked.layer == "banned_media"
    assert [layer.layer for layer in blocked.layers] == ["banned_media", "nudity"]
    assert media.check_media(synthetic_clip(9)).allowed
    assert media.check_media([]).needs_review


def test_frame_formats():
    grey = np.full((32, 32), 128, np.uint8)
    rgba = np.zeros((32, 32, 4), np.uint8)
    unit = np.random.default_rng(0).random((32, 32, 3))
    assert media.as_rgb(grey).shape == (32, 32, 3)
    assert media.as_rgb(rgba).shape == (32, 32, 3)
    assert media.as_rgb(unit).dtype == np.uint8 and media.as_rgb(unit).max() > 1
    with pytest.raises(ValueError):
        media.as_rgb(np.zeros((2, 2, 2, 2)))


def test_sample_indices():
    assert media.sample_indices(96, 4) == [0, 32, 63, 95]
    assert media.sample_indices(3, 8) == [0, 1, 2]
    assert media.sample_indices(0, 4) == []


def test_one_near_frame_is_review_several_are_a_copy():
    banned = ["0000000000000000"]
    near, far, exact = "00000000000000ff", "ffffffffffffffff", "0000000000000007"
    one = media.check_banned_media([], banned, hashes=[near, far, far])
    assert one.needs_review and one.scores["frames_matching"] == 1
    assert media.check_banned_media([], banned, hashes=[near, near, far]).blocked
    assert media.check_banned_media([], banned, hashes=[exact, far, far]).blocked
    assert media.check_banned_media([], banned, hashes=[near]).blocked  # a one-frame clip
    assert media.check_banned_media([], banned, hashes=[far, far]).allowed


def test_a_clip_as_one_array(removed):
    clip = np.stack(removed)  # T x H x W x 3, as the generation backends hand it over
    assert media.frame_hashes(clip) == media.frame_hashes(removed)
    assert media.check_media(clip, banned_hashes=media.frame_hashes(removed)).blocked
