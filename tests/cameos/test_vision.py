"""The plain vision module: decoding, the face detector on drawn faces, the challenge card."""

from __future__ import annotations

import numpy as np
import pytest

from cameos import vision
from tests.cameos.factories import FPS, H, W, card_frame, face_frames, object_frames


def test_probe_refuses_bytes_that_are_not_a_video():
    with pytest.raises(vision.ClipError) as refusal:
        vision.probe_clip(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
    assert refusal.value.code == "not_a_video"


def test_probe_and_decode_measure_a_clip():
    data = vision.encode_clip(object_frames(2.0), fps=FPS)
    probe = vision.probe_clip(data)
    assert (probe.width, probe.height) == (W, H)
    assert probe.duration_s == pytest.approx(2.0, abs=0.2)
    assert "mp4" in probe.format_name
    clip = vision.decode_clip(data, max_seconds=10)
    assert clip.frames_decoded == 2 * FPS
    assert clip.duration_s == pytest.approx(2.0, abs=0.01)
    assert len(clip.frames) == 8  # about 4 kept a second
    assert clip.frames[0].shape == (H, W, 3)


def test_decode_stops_past_the_limit():
    data = vision.encode_clip(object_frames(3.0), fps=FPS)
    with pytest.raises(vision.ClipError) as refusal:
        vision.decode_clip(data, max_seconds=2.0)
    assert refusal.value.code == "clip_too_long"
    assert vision.decode_clip(data, max_seconds=3.0).duration_s == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize("scale", [0.45, 0.5, 0.6, 0.7])
def test_the_detector_finds_the_drawn_face(scale):
    box = vision.detect_faces([vision.draw_face(scale=scale)])[0]
    assert box is not None and box.score >= 0.3
    # The box sits on the drawn head.
    assert box.x < W // 2 < box.x + box.w and box.y < H // 2 < box.y + box.h + 40


def test_the_detector_finds_no_face_where_there_is_none():
    rng = np.random.default_rng(1)
    frames = [np.full((H, W, 3), v, np.uint8) for v in (0, 128, 255)]
    frames += [rng.integers(0, 255, (H, W, 3), dtype=np.uint8), card_frame(1, "123456"), object_frames(1)[0]]
    assert vision.detect_faces(frames) == [None] * len(frames)


def test_faces_survive_h264_and_the_card_is_read_back():
    frames = face_frames(2.0) + [card_frame(42, "654321")] * FPS
    clip = vision.decode_clip(vision.encode_clip(frames, fps=FPS), max_seconds=10)
    scan = vision.scan_challenge(clip)
    assert scan.payloads == (vision.challenge_payload(42, "654321"),)
    assert all(clip.times[i] >= 2.0 for i in scan.frames_with_code)
    faces = vision.scan_faces(clip, skip=scan.frames_with_code)
    assert faces.fraction == 1.0 and len(faces.boxes) == 8


@pytest.mark.parametrize(("challenge_id", "code"), [(18, "587954"), (1818, "512536"), (42, "654321")])
def test_the_served_card_is_read_back_whatever_its_module_layout(challenge_id, code):
    # The first two cards, as the card endpoint draws them (code in digits below the QR), were
    # missed by OpenCV's classic QR detector in every frame; a real cameo was refused for it.
    card = vision.render_challenge_card(
        vision.challenge_payload(challenge_id, code), side=H, code_text=f"{code[:3]} {code[3:]}"
    )
    frame = np.full((H, W, 3), 255, np.uint8)
    frame[:, (W - H) // 2 : (W - H) // 2 + H] = card
    clip = vision.decode_clip(vision.encode_clip(object_frames(1.0) + [frame] * FPS, fps=FPS), max_seconds=10)
    scan = vision.scan_challenge(clip)
    assert scan.payloads == (vision.challenge_payload(challenge_id, code),)
    assert scan.frames_with_code and all(clip.times[i] >= 1.0 for i in scan.frames_with_code)


def test_payloads_parse_back():
    assert vision.parse_payload(vision.challenge_payload(7, "000123")) == (7, "000123")
    assert vision.parse_payload("https://example.org") is None
    assert vision.parse_payload("sora-cameo:v1:x:1") is None


def test_embedding_is_normalised_deterministic_and_tells_subjects_apart():
    face = vision.crop_face(vision.draw_face(), vision.detect_faces([vision.draw_face()])[0])
    mug = vision.center_crop(object_frames(1)[0])
    a = np.array(vision.appearance_embedding([face]))
    assert a.shape == (384,)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-4)
    assert vision.appearance_embedding([face]) == list(a)
    b = np.array(vision.appearance_embedding([mug]))
    same = np.array(
        vision.appearance_embedding(
            [vision.crop_face(vision.draw_face(scale=0.55), vision.FaceBox(230, 150, 180, 200, 1))]
        )
    )
    assert float(a @ b) < float(a @ same)
