"""Generated-video media: H.264 encoding (faststart, in memory), the visible moving watermark,
thumbnail and spritesheet JPEGs, probing and decoding."""

from __future__ import annotations

import io
import struct

import av
import numpy as np
import pytest
from PIL import Image

from generation import media


def _gray(count: int, height: int, width: int, value: int = 110) -> np.ndarray:
    return np.full((count, height, width, 3), value, dtype=np.uint8)


def _ramp(count: int, height: int, width: int) -> np.ndarray:
    """Each frame a different solid colour, so frame i is recognisable after JPEG/H.264."""
    frames = np.empty((count, height, width, 3), dtype=np.uint8)
    for i in range(count):
        frames[i] = (round(255 * i / max(1, count - 1)), 60, 255 - round(255 * i / max(1, count - 1)))
    return frames


def _top_level_boxes(data: bytes) -> list[bytes]:
    kinds, position = [], 0
    while position + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, position)
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, position + 8)
        kinds.append(kind)
        position += size
    return kinds


def _changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the pixels that differ, or None."""
    diff = np.abs(before.astype(int) - after.astype(int)).max(axis=-1) > 8
    if not diff.any():
        return None
    rows, cols = np.where(diff)
    return rows.min(), cols.min(), rows.max(), cols.max()


def test_encode_then_probe_h264_with_the_expected_frames_and_size():
    frames = _ramp(32, 128, 72)
    data = media.encode_mp4(frames, 8, watermark_text=media.watermark_label("alice"))
    info = media.probe_mp4(data)
    assert info == {"duration_s": 4.0, "width": 72, "height": 128, "frame_count": 32, "fps": 8.0, "codec": "h264"}
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    decoded = media.decode_mp4(data)
    assert decoded.shape == (32, 128, 72, 3) and decoded.dtype == np.uint8
    # Lossy, but close to what went in (the watermark covers only a small part of the frame).
    assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 12
    assert media.decode_mp4(data, max_frames=5).shape == (5, 128, 72, 3)


def test_encoded_file_is_faststart():
    data = media.encode_mp4(_ramp(10, 64, 64), 10, watermark_text=None)
    kinds = _top_level_boxes(data)
    assert kinds[0] == b"ftyp"
    assert kinds.index(b"moov") < kinds.index(b"mdat")


def test_faststart_relocation_keeps_every_frame():
    # Write a plain (moov-at-end) MP4 with PyAV, relocate it, and compare the decoded frames.
    frames = np.random.default_rng(1).integers(0, 256, size=(9, 48, 64, 3), dtype=np.uint8)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=9)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    plain = out.getvalue()
    assert _top_level_boxes(plain).index(b"moov") > _top_level_boxes(plain).index(b"mdat")
    moved = media.faststart(plain)
    assert len(moved) == len(plain)
    assert _top_level_boxes(moved).index(b"moov") < _top_level_boxes(moved).index(b"mdat")
    assert np.array_equal(media.decode_mp4(moved), media.decode_mp4(plain))
    assert media.faststart(moved) == moved  # already in front: unchanged


def test_odd_dimensions_and_empty_input_are_refused():
    with pytest.raises(ValueError):
        media.encode_mp4(_gray(4, 65, 64), 8, watermark_text=None)
    with pytest.raises(ValueError):
        media.encode_mp4(np.zeros((0, 64, 64, 3), dtype=np.uint8), 8, watermark_text=None)


def test_watermark_is_visible_and_carries_the_handle():
    assert media.watermark_label("alice") == "Sora Social · @alice"
    assert media.watermark_label("@alice") == "Sora Social · @alice"
    frames = _gray(4, 1280, 720)
    marked = media.watermark_frames(frames, 24, media.watermark_label("alice"))
    box = _changed_box(frames[0], marked[0])
    assert box is not None
    top, left, bottom, right = box
    # A readable line of text: wide and short, not the whole frame.
    assert 150 < right - left < 720 * 0.9 and 10 < bottom - top < 120
    # Semi-transparent: the brightest text pixels are lighter than the background but not pure white.
    region = marked[0, top : bottom + 1, left : right + 1].astype(int)
    assert 110 + 60 < region.max() < 255
    # A longer handle makes a longer mark.
    longer = media.watermark_frames(frames[:1], 24, media.watermark_label("alice_with_a_long_name"))
    long_box = _changed_box(frames[0], longer[0])
    assert long_box[3] - long_box[1] > right - left


def test_watermark_moves_over_time_and_survives_encoding():
    fps, seconds = 12, 4
    frames = _gray(fps * seconds, 320, 180)
    data = media.encode_mp4(frames, fps, watermark_text=media.watermark_label("bob"))
    decoded = media.decode_mp4(data)
    early = _changed_box(frames[0], decoded[0])
    late = _changed_box(frames[0], decoded[-1])
    assert early is not None and late is not None
    # Not in the same place: the centres are far apart.
    early_centre = ((early[0] + early[2]) / 2, (early[1] + early[3]) / 2)
    late_centre = ((late[0] + late[2]) / 2, (late[1] + late[3]) / 2)
    assert abs(early_centre[0] - late_centre[0]) + abs(early_centre[1] - late_centre[1]) > 60
    # Without a watermark nothing is drawn.
    plain = media.decode_mp4(media.encode_mp4(frames, fps, watermark_text=None))
    assert np.abs(plain.astype(int) - 110).max() <= 8


def test_watermark_position_visits_the_waypoints():
    assert media.watermark_position(0.0, 500, 1000) == (0, 0)
    period = media.WATERMARK_HOLD_S + media.WATERMARK_GLIDE_S
    assert media.watermark_position(period + 0.1, 500, 1000) == (500, 500)  # second waypoint: right edge, middle
    assert media.watermark_position(2 * period + 0.1, 500, 1000) == (0, 1000)
    # Halfway through a glide it is between the two waypoints.
    x, y = media.watermark_position(media.WATERMARK_HOLD_S + media.WATERMARK_GLIDE_S / 2, 500, 1000)
    assert 0 < x < 500 and 0 < y < 500


def test_watermark_fits_small_frames():
    frames = _gray(2, 64, 48)
    marked = media.watermark_frames(frames, 8, media.watermark_label("someone_with_a_very_long_handle"))
    assert marked.shape == frames.shape
    assert _changed_box(frames[0], marked[0]) is not None


def test_thumbnail_is_a_jpeg_of_the_middle_frame():
    frames = _ramp(9, 128, 72)
    data = media.thumbnail_jpeg(frames)
    assert data[:3] == b"\xff\xd8\xff"
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (72, 128)
    centre = np.asarray(image)[64, 36].astype(int)
    assert np.abs(centre - frames[4, 64, 36].astype(int)).max() < 12
    small = Image.open(io.BytesIO(media.thumbnail_jpeg(frames, max_side=64)))
    assert small.size == (36, 64)


def test_spritesheet_is_a_grid_of_evenly_spaced_frames():
    frames = _ramp(46, 128, 72)
    data = media.spritesheet_jpeg(frames, columns=5, tile_width=40, tiles=10)
    sheet = Image.open(io.BytesIO(data))
    tile_h = round(40 * 128 / 72)
    assert sheet.format == "JPEG" and sheet.size == (5 * 40, 2 * tile_h)
    pixels = np.asarray(sheet).astype(int)
    expected = np.round(np.linspace(0, 45, 10)).astype(int)
    for position, frame_index in enumerate(expected):
        row, col = divmod(position, 5)
        centre = pixels[row * tile_h + tile_h // 2, col * 40 + 20]
        assert np.abs(centre - frames[frame_index, 0, 0].astype(int)).max() < 14, (position, frame_index)


def test_spritesheet_of_a_short_clip_uses_each_frame_once():
    frames = _ramp(3, 64, 64)
    sheet = Image.open(io.BytesIO(media.spritesheet_jpeg(frames, columns=5, tile_width=32)))
    assert sheet.size == (3 * 32, 32)


def test_probe_refuses_bytes_that_are_not_a_video():
    with pytest.raises(media.MediaError):
        media.probe_mp4(b"not a video at all" * 100)
    with pytest.raises(media.MediaError):
        media.decode_mp4(b"\x00" * 64)
