"""Perceptual hashes of video frames: the pure half of recognising our own media when it comes back.

Plain module, no Django (the benchmark and a GPU box use it alone); `generation.media_match`
stores and looks the hashes up.

A frame's hash is a 64-bit DCT hash (pHash family): the frame in grey, a fixed border trimmed,
shrunk to 32x32 by area averaging, its 2-D DCT, and one bit per low-frequency coefficient (the
first 64 after the constant term, in zigzag order) saying whether it lies above their median.
Low frequencies survive what an upload does to a video: re-encoding, rescaling, a few percent of
crop (the trimmed border takes up most of it), a semi-transparent watermark line.

For look-up the 64 bits are cut into four 16-bit bands (multi-index hashing): two hashes within
Hamming distance 3 share at least one band exactly, within 7 at least one band up to one bit, so
a look-up is an index query on four indexed columns, then exact distances on the few candidates.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

HASH_BITS = 64
BAND_BITS = 16
BANDS = HASH_BITS // BAND_BITS
# Fraction of each side trimmed before hashing: most of a 2-5 % crop falls inside it, so the
# cropped and the original frame hash nearly the same picture.
BORDER_TRIM = 0.06
DCT_SIDE = 32
# Every input is first brought to this square grey size (video frames by FFmpeg's scaler while
# decoding, stills by OpenCV), so a frame and its thumbnail are hashed from the same picture.
WORK_SIDE = 160


def _zigzag(side: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    # (row, col) of the first `count` coefficients after the constant term, low frequencies first.
    cells = sorted(
        ((r, c) for r in range(side) for c in range(side) if (r, c) != (0, 0)),
        key=lambda rc: (rc[0] + rc[1], rc[0] if (rc[0] + rc[1]) % 2 else rc[1]),
    )[:count]
    return np.array([r for r, _ in cells]), np.array([c for _, c in cells])


_LUMA_CELLS = _zigzag(16, 64)
_CHROMA_CELLS = _zigzag(16, 32)


def _bits(channel: np.ndarray, cells: tuple[np.ndarray, np.ndarray], side: int) -> int:
    import cv2

    h, w = channel.shape
    dy, dx = round(h * BORDER_TRIM), round(w * BORDER_TRIM)
    core = channel[dy : h - dy or h, dx : w - dx or w]
    small = cv2.resize(core, (side, side), interpolation=cv2.INTER_AREA)
    coefficients = cv2.dct(small)[cells]
    value = 0
    for bit in (coefficients > np.median(coefficients)).tolist():
        value = (value << 1) | bit
    return value


def _work_image(frame: np.ndarray) -> np.ndarray:
    """Any RGB(A) or grey frame as a WORK_SIDE square float32 YUV image."""
    import cv2

    frame = np.asarray(frame, dtype=np.uint8)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    frame = np.ascontiguousarray(frame[..., :3])
    if frame.shape[:2] != (WORK_SIDE, WORK_SIDE):
        frame = cv2.resize(frame, (WORK_SIDE, WORK_SIDE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2YUV).astype(np.float32)


def frame_hash(frame: np.ndarray) -> tuple[int, int]:
    """(luma, chroma) hashes of one RGB frame, unsigned 64-bit each.

    luma: 64 bits from the 32x32 DCT of the brightness. chroma: 32 bits from the 16x16 DCT of
    each colour-difference channel (U then V): the demo model's scenes share one room and differ
    mostly in the colour of what moves in it, which brightness alone barely tells apart.
    """
    yuv = _work_image(frame)
    luma = _bits(yuv[..., 0], _LUMA_CELLS, DCT_SIDE)
    chroma = (_bits(yuv[..., 1], _CHROMA_CELLS, 16) << 32) | _bits(yuv[..., 2], _CHROMA_CELLS, 16)
    return luma, chroma


def image_hash(image) -> tuple[int, int]:
    """The hash of a PIL image (a thumbnail, a reference frame)."""
    return frame_hash(np.asarray(image.convert("RGB")))


def bands(value: int) -> tuple[int, ...]:
    """The four 16-bit bands of a hash, most significant first."""
    mask = (1 << BAND_BITS) - 1
    return tuple((value >> (BAND_BITS * (BANDS - 1 - i))) & mask for i in range(BANDS))


def band_neighbours(band: int) -> list[int]:
    """A band and every value one bit away from it (17 values)."""
    return [band] + [band ^ (1 << bit) for bit in range(BAND_BITS)]


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as PostgreSQL's signed bigint holds it."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def distances(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Hamming distances (len(queries), len(candidates)) between two arrays of (luma, chroma) rows,
    as the fraction of the 128 bits that differ."""
    queries = np.asarray(queries, dtype=np.uint64).reshape(-1, 2)
    candidates = np.asarray(candidates, dtype=np.uint64).reshape(-1, 2)
    differ = np.bitwise_count(queries[:, None, :] ^ candidates[None, :, :]).sum(axis=-1)
    return differ.astype(np.float32) / (HASH_BITS + 64)


@dataclass(frozen=True)
class FrameHash:
    position: int  # order among the sampled frames
    at_s: float | None  # time in the video; None for a still (a thumbnail)
    luma: int  # unsigned 64 bits
    chroma: int  # unsigned 64 bits: 32 for U, 32 for V


def as_array(hashes: list[FrameHash]) -> np.ndarray:
    return np.array([(h.luma, h.chroma) for h in hashes], dtype=np.uint64).reshape(-1, 2)


def _sampled_frames(source: BinaryIO, *, fps: float, max_frames: int) -> Iterator[tuple[float, np.ndarray]]:
    import av

    with av.open(source, mode="r") as container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        start: float | None = None
        next_at = 0.0
        kept = 0
        for index, frame in enumerate(container.decode(stream)):
            at = float(frame.time) if frame.time is not None else index / rate
            start = at if start is None else start
            at -= start
            if at + 1e-6 < next_at:
                continue
            # Small frames straight from FFmpeg's scaler: the hash needs no more, and converting a
            # full-size frame to RGB costs more than decoding it.
            yield at, frame.to_ndarray(format="rgb24", width=WORK_SIDE, height=WORK_SIDE, interpolation="AREA")
            kept += 1
            next_at = at + 1.0 / fps
            if kept >= max_frames:
                return


def video_frames(data: bytes | BinaryIO, *, fps: float, max_frames: int) -> list[tuple[FrameHash, np.ndarray]]:
    """Frames sampled at about `fps` (the first frame included), at most `max_frames`: each one's
    hash and its small RGB picture (WORK_SIDE square), which `detail_similarity` compares.

    Raises av.FFmpegError (or ValueError/OSError) when the bytes are not a video.
    """
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    frames = []
    for position, (at, rgb) in enumerate(_sampled_frames(source, fps=fps, max_frames=max_frames)):
        luma, chroma = frame_hash(rgb)
        frames.append((FrameHash(position=position, at_s=round(at, 3), luma=luma, chroma=chroma), rgb))
    return frames


def video_frame_hashes(data: bytes | BinaryIO, *, fps: float, max_frames: int) -> list[FrameHash]:
    """The hashes of `video_frames`."""
    return [h for h, _ in video_frames(data, fps=fps, max_frames=max_frames)]


def work_rgb(image) -> np.ndarray:
    """A PIL image as the WORK_SIDE square RGB picture a sampled video frame is."""
    import cv2

    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    return cv2.resize(rgb, (WORK_SIDE, WORK_SIDE), interpolation=cv2.INTER_AREA)


# --- Verifying a candidate: the same picture in detail, up to a small crop --------------------------

DETAIL_SIDE = 40
# The query's core (BORDER_TRIM off each side) covers this fraction of each side of the indexed
# frame when the query was cropped by 0-5 % before: (1 - 2 * BORDER_TRIM) * (1 - crop).
_CORE_FRACTIONS = (0.836, 0.85, 0.865, 0.88)
_DETAIL_BLUR_SIGMA = 1.0
# Below this spread of the high-passed picture (grey levels) there is no detail to compare: a flat
# or very smooth picture is verified by nothing but its hash.
_DETAIL_MIN_SPREAD = 0.5


def _grey(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _detail(grey: np.ndarray) -> np.ndarray:
    import cv2

    return grey - cv2.GaussianBlur(grey, (0, 0), _DETAIL_BLUR_SIGMA)


def detail_similarity(query_rgb: np.ndarray, indexed_rgb: np.ndarray) -> float | None:
    """How alike two WORK_SIDE frames are in their fine detail, allowing for a crop of up to 5 %.

    The hash keeps only low frequencies, so two clips of one shape doing the same thing at the
    same place in the demo model's room (near-duplicates, not copies) hash alike. A copy also
    keeps the detail: its edges and textures sit where the original's do. The query's trimmed
    core, high-passed (the frame minus its Gaussian blur), is searched for in the high-passed
    indexed frame scaled for each crop the core can come from (normalised cross-correlation over
    every shift); the best correlation is returned (1.0: the same detail), or None when either
    picture is too smooth to have detail.
    """
    import cv2

    query = _grey(query_rgb)
    h, w = query.shape
    dy, dx = round(h * BORDER_TRIM), round(w * BORDER_TRIM)
    core = cv2.resize(query[dy : h - dy, dx : w - dx], (DETAIL_SIDE, DETAIL_SIDE), interpolation=cv2.INTER_AREA)
    template = _detail(core)
    indexed = _grey(indexed_rgb)
    if float(template.std()) < _DETAIL_MIN_SPREAD or float(_detail(indexed).std()) < _DETAIL_MIN_SPREAD:
        return None
    best = -1.0
    for fx in _CORE_FRACTIONS:
        for fy in _CORE_FRACTIONS:
            size = (round(DETAIL_SIDE / fx), round(DETAIL_SIDE / fy))
            scaled = _detail(cv2.resize(indexed, size, interpolation=cv2.INTER_AREA))
            best = max(best, float(cv2.matchTemplate(scaled, template, cv2.TM_CCOEFF_NORMED).max()))
    return best


# --- Deciding: is a query (a clip, a still) one of an indexed video's? ----------------------------


@dataclass(frozen=True)
class Alignment:
    distance: float  # median fraction of differing bits over the aligned query frames
    covered: int  # query frames that fell inside the video at the best offset
    offset_s: float
    # (query frame, indexed frame) positions compared at that offset, each query frame with its
    # nearest indexed frame among those within a step of its time
    pairs: tuple[tuple[int, int], ...] = ()


def align(
    query: list[FrameHash], indexed: list[FrameHash], *, step_s: float, min_covered: float = 0.6
) -> Alignment | None:
    """How close a query clip is to an indexed video when frames are compared at the same time.

    A re-encoded, rescaled or cropped copy (or a cut) of a video shows the same picture at the
    same moment (shifted by where the cut starts); an unrelated clip of a similar scene may come
    close frame by frame but not at matching times. So: every offset that a query frame's nearest
    indexed frame suggests is tried; at each, every query frame is compared with the indexed
    frames within one sampling step of its time there, and the median of those distances kept.
    The best offset among those where at least `min_covered` of the query frames fall inside
    the video wins. `step_s` is the index's sampling interval.
    """
    frames = [h for h in indexed if h.at_s is not None]
    if not query or not frames:
        return None
    q_times = np.array([h.at_s or 0.0 for h in query], dtype=np.float64)
    i_times = np.array([h.at_s for h in frames], dtype=np.float64)
    matrix = distances(as_array(query), as_array(frames))
    suggested = i_times[matrix.argmin(axis=1)] - q_times
    # Offsets at half a step's resolution; each tried once.
    offsets = sorted({round(float(o) / (step_s / 2)) * (step_s / 2) for o in suggested})
    best: Alignment | None = None
    for offset in offsets:
        gap = np.abs(i_times[None, :] - (q_times[:, None] + offset))
        near = gap <= step_s * 0.75
        inside = near.any(axis=1)
        covered = int(inside.sum())
        if covered == 0 or covered < min_covered * len(query):
            continue
        masked = np.where(near, matrix, np.inf)
        aligned = masked.min(axis=1)[inside]
        distance = float(np.median(aligned))
        if best is None or (distance, -covered) < (best.distance, -best.covered):
            nearest = masked.argmin(axis=1)
            pairs = tuple(
                (query[q].position, frames[int(nearest[q])].position) for q in np.flatnonzero(inside).tolist()
            )
            best = Alignment(distance=distance, covered=covered, offset_s=float(offset), pairs=pairs)
    return best
