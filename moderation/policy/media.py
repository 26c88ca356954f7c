"""Media checks after generation: nudity on sampled frames, and banned-media matching.

Plain module, no Django. Frames are numpy arrays, H x W x 3 uint8 RGB (what PyAV's
`frame.to_ndarray(format="rgb24")` gives); grey (H x W) and RGBA frames are accepted too.

- Nudity: NudeNet's bundled detector (PyPI `nudenet`, its `320n.onnx` on onnxruntime, offline),
  loaded once per process, on up to NUDITY_FRAMES frames sampled evenly through the clip. The
  highest score of an exposed-body class decides: block at NUDITY_BLOCK, review at NUDITY_REVIEW.
- Banned media: the perceptual hash (imagehash.phash, 64 bits) of up to HASH_FRAMES sampled
  frames, compared with the banned hashes: a clip with BANNED_MIN_FRAMES frames within
  BANNED_MAX_DISTANCE bits of banned hashes (or one within BANNED_EXACT_DISTANCE) is blocked, one
  frame within BANNED_MAX_DISTANCE goes to review. Frames with almost no detail (a black or flat
  frame) are not hashed: their hash would match every other flat frame.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from moderation.policy.result import PolicyResult, combine

NUDITY_LAYER = "nudity"
BANNED_LAYER = "banned_media"

NUDITY_FRAMES = 4
HASH_FRAMES = 8
# NudeNet's classes that mean nudity; covered parts, faces, feet, bellies and armpits are not.
EXPOSED_CLASSES = (
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED",
)
NUDITY_BLOCK = 0.60
NUDITY_REVIEW = 0.40
BANNED_MAX_DISTANCE = 10
BANNED_EXACT_DISTANCE = 4
BANNED_MIN_FRAMES = 2
MIN_DETAIL_STD = 4.0
DETECTOR_SIZE = 320  # NudeNet's 320n model sees a 320 x 320 input whatever it is given
DETECTOR_THREADS = 1  # grey-level standard deviation below which a frame is "flat"


def as_rgb(frame: np.ndarray) -> np.ndarray:
    """An H x W x 3 uint8 RGB view of a frame (grey, RGBA and float [0, 1] frames converted)."""
    array = np.asarray(frame)
    if array.dtype != np.uint8:
        scale = 255.0 if array.size and float(np.nanmax(array)) <= 1.0 else 1.0
        array = np.clip(np.nan_to_num(array) * scale, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be H x W, H x W x 3 or H x W x 4, not {array.shape}")
    return array[:, :, :3]


def sample_indices(count: int, k: int) -> list[int]:
    """Up to k frame positions spread evenly from the first frame to the last."""
    if count <= 0 or k <= 0:
        return []
    if count <= k:
        return list(range(count))
    return sorted({round(i * (count - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]


# --- perceptual hashes ---------------------------------------------------------------------------
def _shrink(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """Area-averaged downscale; the models and the hash look at small images anyway, and this
    makes a 720p frame cost what a thumbnail costs."""
    import cv2

    height, width = rgb.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _phash(frame: np.ndarray) -> str | None:
    import imagehash
    from PIL import Image

    small = _shrink(as_rgb(frame), 128)
    if float(small.mean(axis=2).std()) < MIN_DETAIL_STD:
        return None
    return str(imagehash.phash(Image.fromarray(small)))


def frame_hashes(frames: Sequence[np.ndarray], *, max_frames: int = HASH_FRAMES) -> list[str]:
    """Perceptual hashes (16 hex digits) of evenly sampled, non-flat frames.

    The moderation case layer adds a removed video's hashes to the banned list with this.
    """
    hashes: list[str] = []
    for index in sample_indices(len(frames), max_frames):
        value = _phash(frames[index])
        if value is not None and value not in hashes:
            hashes.append(value)
    return hashes


def _to_ints(hashes: Iterable[str]) -> np.ndarray:
    values = []
    for value in hashes:
        try:
            values.append(int(value, 16))
        except (TypeError, ValueError):
            continue  # a malformed entry in the list must not break every check
    return np.array(values, dtype=np.uint64)


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.unpackbits(values.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def distances_to_banned(hashes: Sequence[str], banned_hashes: Iterable[str]) -> list[tuple[int, str, str]]:
    """For each frame hash: (smallest Hamming distance to a banned hash, the frame hash, that banned hash)."""
    banned = _to_ints(banned_hashes)
    frames = _to_ints(hashes)
    if not len(banned) or not len(frames):
        return []
    out = []
    for value in frames:
        distances = _popcount(banned ^ value)
        j = int(np.argmin(distances))
        out.append((int(distances[j]), f"{int(value):016x}", f"{int(banned[j]):016x}"))
    return out


def nearest_banned(hashes: Sequence[str], banned_hashes: Iterable[str]) -> tuple[int, str, str]:
    """(smallest Hamming distance, the frame hash, the banned hash); distance 65 if nothing to compare."""
    return min(distances_to_banned(hashes, banned_hashes), default=(65, "", ""))


def check_banned_media(
    frames: Sequence[np.ndarray], banned_hashes: Iterable[str], *, hashes: Sequence[str] | None = None
) -> PolicyResult:
    """Block when the clip is a copy of banned media, review when one frame looks like one.

    A copy matches on several sampled frames; one frame within BANNED_MAX_DISTANCE can be chance
    when the list is long (64-bit hashes of unrelated frames do come that close now and then), so
    it blocks only if it is nearly exact (BANNED_EXACT_DISTANCE) or the clip has a single frame.
    """
    hashes = frame_hashes(frames) if hashes is None else hashes
    per_frame = distances_to_banned(hashes, banned_hashes)
    matches = sorted(d for d in per_frame if d[0] <= BANNED_MAX_DISTANCE)
    nearest = min(per_frame, default=(65, "", ""))
    scores = {
        "min_hamming_distance": float(nearest[0]),
        "frames_hashed": float(len(hashes)),
        "frames_matching": float(len(matches)),
    }
    if not matches:
        return PolicyResult.allow(BANNED_LAYER, scores=scores)
    distance, frame_hash, banned_hash = matches[0]
    reason = (
        f"{len(matches)} of {len(hashes)} sampled frames match banned media "
        f"(nearest: frame {frame_hash} ~ {banned_hash}, Hamming distance {distance})"
    )
    copy = len(matches) >= min(BANNED_MIN_FRAMES, len(hashes)) or distance <= BANNED_EXACT_DISTANCE
    decision = "block" if copy else "review"
    return PolicyResult(decision, BANNED_LAYER, "banned_media_match", "banned_media", (reason,), scores)


# --- nudity --------------------------------------------------------------------------------------
_detector_lock = threading.Lock()


@lru_cache(maxsize=1)
def _detector():
    import nudenet
    import onnxruntime
    from nudenet import NudeDetector

    model_path = str(Path(nudenet.__file__).resolve().parent / "320n.onnx")  # shipped in the wheel
    detector = NudeDetector(model_path=model_path)
    # NudeNet's own session uses every core; on a shared box one thread is several times faster
    # per frame, and workers scale by processes anyway. Same model file, same inputs.
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = DETECTOR_THREADS
    options.inter_op_num_threads = 1
    detector.onnx_session = onnxruntime.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    return detector


def nudity_scores(frames: Sequence[np.ndarray], *, max_frames: int = NUDITY_FRAMES) -> dict[str, float]:
    """The highest score per exposed-body class over evenly sampled frames (0.0 when not seen)."""
    picked = [_shrink(as_rgb(frames[i]), DETECTOR_SIZE) for i in sample_indices(len(frames), max_frames)]
    scores = dict.fromkeys(EXPOSED_CLASSES, 0.0)
    if not picked:
        return scores
    # NudeNet reads frames the way cv2.imread gives them: BGR.
    batch = [np.ascontiguousarray(frame[:, :, ::-1]) for frame in picked]
    with _detector_lock:
        detections = _detector().detect_batch(batch, batch_size=len(batch))
    for frame_detections in detections:
        for detection in frame_detections:
            label = detection["class"]
            if label in scores:
                scores[label] = max(scores[label], float(detection["score"]))
    return scores


def check_nudity(frames: Sequence[np.ndarray]) -> PolicyResult:
    scores = nudity_scores(frames)
    label, top = max(scores.items(), key=lambda item: item[1])
    result_scores = {"max_exposed": top, **{k.lower(): v for k, v in scores.items()}}
    if top >= NUDITY_REVIEW:
        decision = "block" if top >= NUDITY_BLOCK else "review"
        reason = (
            f"nudity detector: {label.lower()} at {top:.2f} (review from {NUDITY_REVIEW}, block from {NUDITY_BLOCK})"
        )
        return PolicyResult(decision, NUDITY_LAYER, "nudity", "sexual", (reason,), result_scores)
    return PolicyResult.allow(NUDITY_LAYER, scores=result_scores)


def check_media(frames: Sequence[np.ndarray], *, banned_hashes: Iterable[str] = ()) -> PolicyResult:
    """Banned-media match first (cheap), then nudity; one combined result."""
    if not len(frames):
        return PolicyResult("review", "media", "no_frames", "", ("no frames to check",), {})
    banned = check_banned_media(frames, banned_hashes)
    nudity = check_nudity(frames)
    return combine([banned, nudity], layer="media")
