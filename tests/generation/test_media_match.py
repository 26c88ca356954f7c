"""Recognising our own media when it comes back: the frame index, C2PA, and match_media."""

from __future__ import annotations

import io
from functools import cache

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from generation import frame_hash, provenance
from generation.media import decode_mp4, encode_mp4, watermark_label
from generation.media import render_clip as render_test_clip
from generation.media_match import (
    MediaMatch,
    detail_min,
    match_media,
    video_frames_index,
    video_max_distance,
    videos_needing_index,
)
from generation.models import GenerationJob, VideoFrameHash, VideoSource
from generation.services import video_create_from_bytes, video_create_from_upload
from generation.video_model.data import render_clip, sample_clip_spec
from sora_social.celery import app as celery_app
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT, FPS = 144, 256, 8


# The indexed videos' scenes; the unrelated clips show the same room with other scenes in it.
POOL_MOTIONS = {21: "drop", 22: "slide", 23: "roll", 24: "jump", 25: "rise", 26: "throw"}
OTHER_MOTIONS = ("static", "collide")


@cache
def demo_frames(seed: int) -> np.ndarray:
    """A 4-second scene of the embedded model's world (room, coloured shapes), portrait like ours."""
    motion = POOL_MOTIONS.get(seed, OTHER_MOTIONS[seed % 2])
    small = render_clip(sample_clip_spec(np.random.default_rng(seed), motion=motion), size=32)
    square = np.stack([cv2.resize(f, (WIDTH, WIDTH), interpolation=cv2.INTER_CUBIC) for f in small])
    pad = (HEIGHT - WIDTH) // 2
    return np.stack([cv2.copyMakeBorder(f, pad, pad, 0, 0, cv2.BORDER_REPLICATE) for f in square])


@cache
def published(seed: int) -> bytes:
    """The clip as the pipeline publishes it: the moving watermark, H.264."""
    return encode_mp4(demo_frames(seed), FPS, watermark_text=watermark_label("creator"))


def indexed_video(seed: int, data: bytes | None = None):
    video = video_create_from_bytes(user=UserFactory(), data=data or published(seed), source=VideoSource.GENERATED)
    video_frames_index(video=video)
    return video


def even(frames: np.ndarray) -> np.ndarray:
    return frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]


# --- the index ------------------------------------------------------------------------------------


def test_indexing_stores_sampled_frames_and_the_thumbnail():
    video = indexed_video(11)
    rows = list(VideoFrameHash.objects.filter(video=video).order_by("position"))
    # 4 s at 4 frames a second, then the thumbnail (no time).
    assert [r.at_s for r in rows[:3]] == [0.0, 0.25, 0.5]
    assert len(rows) == 17 and rows[-1].at_s is None
    for row in rows:
        assert (row.band0, row.band1, row.band2, row.band3) == frame_hash.bands(frame_hash.to_unsigned(row.luma))
    # Idempotent: indexing again replaces, never duplicates.
    assert video_frames_index(video=video) == 17
    assert VideoFrameHash.objects.filter(video=video).count() == 17


def test_an_upload_is_indexed_on_commit_through_the_outbox(user, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            video = video_create_from_upload(user=user, upload=SimpleUploadedFile("a.mp4", published(12)))
    finally:
        celery_app.conf.task_always_eager = before
    assert VideoFrameHash.objects.filter(video=video).count() == 17
    found = match_media(video_bytes=published(12))
    assert (found.video_id, found.method, found.distance) == (video.pk, "phash", 0.0)
    assert found.detail > 0.99


def test_the_backfill_command_indexes_what_is_missing():
    videos = [video_create_from_bytes(user=UserFactory(), data=published(seed)) for seed in (13, 14)]
    assert set(videos_needing_index()) >= {v.pk for v in videos}
    out = io.StringIO()
    call_command("index_video_frames", stdout=out)
    assert "Indexed 2 videos" in out.getvalue()
    assert not set(videos_needing_index()) & {v.pk for v in videos}


# --- copies of a video --------------------------------------------------------------------------


@pytest.fixture
def pool():
    """Six indexed videos of the same world: the copies must find theirs, not a look-alike."""
    return {seed: indexed_video(seed) for seed in POOL_MOTIONS}


def _copies(seed: int) -> dict[str, bytes]:
    frames = decode_mp4(published(seed))
    h, w = frames.shape[1:3]
    return {
        "re-encoded at a low bitrate": encode_mp4(frames, FPS, crf=36),
        "rescaled to half": encode_mp4(
            np.stack([cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for f in frames]), FPS
        ),
        "4 % cropped off one side": encode_mp4(even(frames[:, :, round(w * 0.04) :]), FPS),
        "2.5 % cropped all round": encode_mp4(even(frames[:, round(h * 0.025) : -round(h * 0.025), 4:-4]), FPS),
        "watermarked again": encode_mp4(frames, FPS, watermark_text=watermark_label("someone_else")),
        "a 2-second cut": encode_mp4(frames[10:26], FPS),
    }


def test_re_encoded_rescaled_cropped_rewatermarked_and_cut_copies_are_recognised(pool):
    for seed in (21, 24):
        for name, data in _copies(seed).items():
            found = match_media(video_bytes=data)
            assert found is not None and found.video_id == pool[seed].pk, (seed, name, found)
            assert found.method == "phash" and 0 <= found.distance <= video_max_distance()
            assert found.detail >= detail_min()


def test_other_scenes_of_the_same_world_and_other_clips_are_not_matched(pool):
    # Two clips of one shape doing the same thing at the same place (a red and an orange square
    # dropping) look alike to any perceptual hash, and may match (docs/generation.md measures
    # how often); other scenes in the same room must not.
    for seed in range(40, 52):
        assert match_media(video_bytes=published(seed)) is None, seed
    for seed in range(3):
        assert match_media(video_bytes=render_test_clip(seconds=2, width=WIDTH, height=HEIGHT, seed=seed)) is None
    noise = np.random.default_rng(0).integers(0, 256, size=(16, HEIGHT, WIDTH, 3), dtype=np.uint8)
    assert match_media(video_bytes=encode_mp4(noise, FPS)) is None


def test_the_thumbnail_and_a_single_frame_are_recognised(pool):
    video = pool[22]
    with video.thumbnail.open("rb") as handle:
        thumbnail = Image.open(io.BytesIO(handle.read()))
        thumbnail.load()
    assert match_media(image=thumbnail).video_id == video.pk
    frame = decode_mp4(published(22))[17]  # between two indexed frames
    small = Image.fromarray(frame).resize((WIDTH // 2, HEIGHT // 2))
    found = match_media(image=small)
    assert found is not None and found.video_id == video.pk and found.method == "phash"
    other = Image.fromarray(decode_mp4(published(45))[16])
    assert match_media(image=other) is None


def test_pictures_alike_in_the_large_but_not_in_detail_are_told_apart():
    """What the detail check is for: the same large shapes (a hash cannot tell them apart) with
    other fine detail are not a copy; a cropped, rescaled, JPEG-compressed copy is."""
    rng = np.random.default_rng(3)
    base = cv2.resize(rng.uniform(0, 255, (6, 6, 3)).astype(np.float32), (160, 160), interpolation=cv2.INTER_CUBIC)

    def textured(seed: int) -> np.ndarray:
        texture = np.random.default_rng(seed).normal(0, 1, (40, 40, 3)).astype(np.float32)
        texture = cv2.resize(texture, (160, 160), interpolation=cv2.INTER_CUBIC) * 18
        return np.clip(base + texture, 0, 255).astype(np.uint8)

    original, look_alike = textured(1), textured(2)
    assert (
        frame_hash.distances(
            np.array([frame_hash.frame_hash(original)], dtype=np.uint64),
            np.array([frame_hash.frame_hash(look_alike)], dtype=np.uint64),
        )[0, 0]
        <= video_max_distance()
    )
    assert frame_hash.detail_similarity(look_alike, original) < detail_min()

    cropped = original[4:-3, 5:-2]
    buffer = io.BytesIO()
    Image.fromarray(cv2.resize(cropped, (120, 120), interpolation=cv2.INTER_AREA)).save(buffer, "JPEG", quality=70)
    copy = frame_hash.work_rgb(Image.open(io.BytesIO(buffer.getvalue())))
    assert frame_hash.detail_similarity(copy, original) >= detail_min()


def test_bytes_that_are_not_a_video_match_nothing(pool):
    assert match_media(video_bytes=b"\x00\x01 not a video") is None
    with pytest.raises(ValueError):
        match_media()


# --- C2PA ---------------------------------------------------------------------------------------


@pytest.fixture
def signing_settings(settings, tmp_path):
    chain, key = provenance.ensure_dev_certificate(tmp_path)
    settings.C2PA_CERT_CHAIN_PATH, settings.C2PA_PRIVATE_KEY_PATH = chain, key
    settings.C2PA_TSA_URL = ""
    return chain


def _job_for(video, public_id: str) -> GenerationJob:
    return GenerationJob.objects.create(
        public_id=public_id,
        user=video.created_by,
        prompt="a red ball",
        seed=1,
        seconds=4,
        width=WIDTH,
        height=HEIGHT,
        backend="embedded",
        model="tiny",
        status="succeeded",
        result_video=video,
    )


def _signed(data: bytes, job_id: str) -> bytes:
    return provenance.sign_mp4(
        data, title=f"{job_id}.mp4", creator_handle="creator", model="tiny", prompt_summary=None, job_id=job_id
    )


def test_a_manifest_we_signed_names_the_video_even_unindexed(signing_settings):
    signed = _signed(published(31), "video_c2pa_match_test")
    video = video_create_from_bytes(user=UserFactory(), data=signed)  # not indexed: C2PA alone
    _job_for(video, "video_c2pa_match_test")
    assert match_media(video_bytes=signed) == MediaMatch(video_id=video.pk, method="c2pa", distance=0.0)


def test_a_manifest_signed_by_someone_else_is_not_trusted(signing_settings, tmp_path_factory, settings):
    signed = _signed(published(32), "video_c2pa_foreign")
    video = video_create_from_bytes(user=UserFactory(), data=published(33))
    _job_for(video, "video_c2pa_foreign")
    # Our trust anchor is now another root: the manifest's signer does not chain to it.
    other_chain, _ = provenance.ensure_dev_certificate(tmp_path_factory.mktemp("other"))
    settings.C2PA_CERT_CHAIN_PATH = other_chain
    assert match_media(video_bytes=signed) is None
