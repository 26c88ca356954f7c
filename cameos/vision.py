"""What verification does to a clip: decode, measure, find a face, find the challenge, extract.

Plain module, no Django: the worker calls it through `cameos.verification`, tests call it
directly, and it runs anywhere PyAV, OpenCV and onnxruntime do.

- Decoding is PyAV's (FFmpeg inside the wheel). The real duration is measured from the decoded
  frames' timestamps, not taken from the container's header, which a client controls.
- Faces: the pinned OpenCV (5.x) no longer ships Haar cascades nor a cascade classifier, so the
  detector is the one bundled with NudeNet (a small YOLO in ONNX, already a project dependency
  for moderation) restricted to its FACE_FEMALE / FACE_MALE classes.
- The challenge: the client shows a QR code card carrying `challenge_payload(id, code)` on
  screen while recording (the first or last second is the convention); OpenCV's
  `QRCodeDetector` finds and decodes it. A card that belongs to a different challenge is a
  replayed clip.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO

import numpy as np

PAYLOAD_PREFIX = "sora-cameo:v1"
EMBEDDING_VERSION = "cameo-appearance-v1"
HIST_BINS = (8, 4, 4)  # hue, saturation, value
FACE_VECTOR_SIDE = 16
REFERENCE_SIDE = 256


class ClipError(Exception):
    """The clip cannot be accepted; `code` is one of the verification refusal codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClipProbe:
    duration_s: float
    width: int
    height: int
    format_name: str = ""


@dataclass
class DecodedClip:
    """Frames kept at about `sample_fps`, RGB uint8, with their times in seconds from the start."""

    frames: list[np.ndarray]
    times: list[float]
    duration_s: float
    width: int
    height: int
    frames_decoded: int


@dataclass(frozen=True)
class FaceBox:
    x: int
    y: int
    w: int
    h: int
    score: float


@dataclass
class FaceScan:
    boxes: list[FaceBox | None]  # best face per scanned frame, or None
    scanned: list[int]  # indices into DecodedClip.frames that were scanned

    @property
    def face_frames(self) -> int:
        return sum(box is not None for box in self.boxes)

    @property
    def fraction(self) -> float:
        return self.face_frames / len(self.boxes) if self.boxes else 0.0


@dataclass(frozen=True)
class ChallengeScan:
    payloads: tuple[str, ...]  # every distinct QR payload found
    frames_with_code: tuple[int, ...] = field(default_factory=tuple)


def _open(source: str | bytes | BinaryIO):
    import av

    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        return av.open(source, mode="r")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise ClipError("not_a_video", "That file is not a video we can read.") from exc


def probe_clip(source: str | bytes | BinaryIO) -> ClipProbe:
    """Cheap check at upload: a container with a video stream whose first frame decodes.

    The duration here comes from the header (or the stream), good enough to refuse an obvious
    long clip at once; the worker measures the real one.
    """
    import av

    container = _open(source)
    try:
        streams = container.streams.video
        if not streams:
            raise ClipError("not_a_video", "That file has no video track.")
        stream = streams[0]
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except av.error.FFmpegError as exc:
            raise ClipError("not_a_video", "That video could not be decoded.") from exc
        if first is None:
            raise ClipError("not_a_video", "That video has no frames.")
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        return ClipProbe(
            duration_s=duration, width=first.width, height=first.height, format_name=container.format.name or ""
        )
    finally:
        container.close()


def _downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def decode_clip(
    source: str | bytes | BinaryIO,
    *,
    max_seconds: float,
    sample_fps: float = 4.0,
    max_side: int = 640,
) -> DecodedClip:
    """Decode every frame, keep about `sample_fps` of them (downscaled), measure the duration.

    Stops with `clip_too_long` as soon as a frame lies past `max_seconds` (plus one frame of
    slack for rounding), so a long upload cannot make the worker decode it all.
    """
    import av

    container = _open(source)
    frames: list[np.ndarray] = []
    times: list[float] = []
    try:
        if not container.streams.video:
            raise ClipError("not_a_video", "That file has no video track.")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        frame_step = 1.0 / rate if rate > 0 else 1 / 30
        start: float | None = None
        last_time = 0.0
        next_keep = 0.0
        decoded = 0
        width = height = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    t_abs = decoded * frame_step
                else:
                    t_abs = float(frame.pts * frame.time_base)
                if start is None:
                    start = t_abs
                t = t_abs - start
                decoded += 1
                width, height = frame.width, frame.height
                last_time = max(last_time, t)
                if last_time > max_seconds + 1e-6:
                    raise ClipError(
                        "clip_too_long", f"The clip is longer than {max_seconds:g} seconds; record a shorter one."
                    )
                if t + 1e-6 >= next_keep:
                    frames.append(_downscale(frame.to_ndarray(format="rgb24"), max_side))
                    times.append(t)
                    next_keep = t + 1.0 / sample_fps
        except av.error.FFmpegError as exc:
            if not decoded:
                raise ClipError("not_a_video", "That video could not be decoded.") from exc
            # A truncated tail: judge what did decode.
        if not decoded:
            raise ClipError("not_a_video", "That video has no frames.")
        duration = last_time + frame_step
        return DecodedClip(frames, times, duration, width, height, decoded)
    finally:
        container.close()


# --- faces ---------------------------------------------------------------------------------

_detector_lock = threading.Lock()


@lru_cache(maxsize=1)
def _face_detector():
    from nudenet import NudeDetector

    return NudeDetector()


FACE_CLASSES = frozenset({"FACE_FEMALE", "FACE_MALE"})


def warm_face_detector() -> None:
    """Load the detector (its ONNX session) ahead of the first verification."""
    _face_detector()


def detect_faces(frames: Sequence[np.ndarray], *, min_score: float = 0.3) -> list[FaceBox | None]:
    """The most confident face in each RGB frame, or None."""
    import cv2

    if not frames:
        return []
    # NudeNet expects what cv2.imread returns (BGR).
    batch = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]
    with _detector_lock:  # the ONNX session is shared; one batch at a time keeps memory flat
        results = _face_detector().detect_batch(batch, batch_size=4)
    best: list[FaceBox | None] = []
    for detections in results:
        faces = [d for d in detections if d["class"] in FACE_CLASSES and d["score"] >= min_score]
        if not faces:
            best.append(None)
            continue
        top = max(faces, key=lambda d: d["score"])
        x, y, w, h = top["box"]
        best.append(FaceBox(int(x), int(y), int(w), int(h), float(top["score"])))
    return best


def evenly_spaced(count: int, wanted: int) -> list[int]:
    if count <= wanted:
        return list(range(count))
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def scan_faces(clip: DecodedClip, *, skip: Iterable[int] = (), max_frames: int = 12) -> FaceScan:
    """Look for a face in up to `max_frames` frames spread over the clip (card frames skipped)."""
    skipped = set(skip)
    candidates = [i for i in range(len(clip.frames)) if i not in skipped]
    chosen = [candidates[i] for i in evenly_spaced(len(candidates), max_frames)]
    return FaceScan(boxes=detect_faces([clip.frames[i] for i in chosen]), scanned=chosen)


def face_side_fraction(box: FaceBox, width: int, height: int) -> float:
    """A face box's longer side as a share of the frame's shorter side (how big the face shows)."""
    return max(box.w, box.h) / max(1, min(width, height))


def scan_all_faces(clip: DecodedClip, *, skip: Iterable[int] = ()) -> FaceScan:
    """Look for a face in every kept frame (card frames skipped): a pet, object or character clip
    must show no person in any of them, and its references come from these frames."""
    skipped = set(skip)
    chosen = [i for i in range(len(clip.frames)) if i not in skipped]
    return FaceScan(boxes=detect_faces([clip.frames[i] for i in chosen]), scanned=chosen)


# --- the challenge card --------------------------------------------------------------------


def challenge_payload(challenge_id: int, code: str) -> str:
    """What the QR code on the challenge card says."""
    return f"{PAYLOAD_PREFIX}:{challenge_id}:{code}"


def parse_payload(payload: str) -> tuple[int, str] | None:
    prefix = PAYLOAD_PREFIX + ":"
    if not payload.startswith(prefix):
        return None
    rest = payload[len(prefix) :]
    challenge_id, _, code = rest.partition(":")
    if not challenge_id.isdigit() or not code:
        return None
    return int(challenge_id), code


def render_challenge_card(payload: str, *, side: int = 480, code_text: str = "") -> np.ndarray:
    """An RGB card with the payload's QR code (and the code in digits for a person to read).

    Clients may render their own; this is what the card endpoint serves and what tests use.
    """
    import cv2

    qr = cv2.QRCodeEncoder.create().encode(payload)  # modules, 0/255, one pixel each
    modules = qr.shape[0]
    quiet = 4
    cell = max(1, (side * 3 // 4) // (modules + 2 * quiet))
    qr_img = cv2.resize(qr, (modules * cell, modules * cell), interpolation=cv2.INTER_NEAREST)
    pad = quiet * cell
    qr_img = cv2.copyMakeBorder(qr_img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    card = np.full((side, side), 255, np.uint8)
    top = max(0, (side - qr_img.shape[0]) // 2 - (side // 12 if code_text else 0))
    left = max(0, (side - qr_img.shape[1]) // 2)
    h = min(qr_img.shape[0], side - top)
    w = min(qr_img.shape[1], side - left)
    card[top : top + h, left : left + w] = qr_img[:h, :w]
    if code_text:
        scale = side / 400
        size, _ = cv2.getTextSize(code_text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        org = ((side - size[0]) // 2, side - side // 16)
        cv2.putText(card, code_text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 0, 2, cv2.LINE_AA)
    return cv2.cvtColor(card, cv2.COLOR_GRAY2RGB)


def _read_qr(detectors: tuple, gray: np.ndarray) -> str:
    """The first QR text any detector reads in the frame, or ''."""
    import cv2

    for detector in detectors:
        try:
            text, points, _ = detector.detectAndDecode(gray)
        except cv2.error:
            continue
        if points is not None and text:
            return text
    return ""


def scan_challenge(clip: DecodedClip) -> ChallengeScan:
    """Every distinct challenge-card payload visible in the kept frames, and where."""
    import cv2

    # The classic detector misses about one card in 200 (its finder-pattern search trips on
    # some module layouts, even on the pristine card); the ArUco-based one reads those.
    detectors = (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco())
    payloads: list[str] = []
    where: list[int] = []
    for index, frame in enumerate(clip.frames):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        text = _read_qr(detectors, gray)
        if not text.startswith(PAYLOAD_PREFIX):
            continue
        where.append(index)
        if text not in payloads:
            payloads.append(text)
    return ChallengeScan(payloads=tuple(payloads), frames_with_code=tuple(where))


# --- references and the appearance embedding ------------------------------------------------


def crop_face(frame: np.ndarray, box: FaceBox, *, margin: float = 0.25, side: int = REFERENCE_SIDE) -> np.ndarray:
    """A square crop around a face, with some margin, resized to side x side."""
    import cv2

    h, w = frame.shape[:2]
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    half = max(box.w, box.h) * (1 + margin) / 2
    x0, x1 = int(max(0, cx - half)), int(min(w, cx + half))
    y0, y1 = int(max(0, cy - half)), int(min(h, cy + half))
    crop = frame[y0:y1, x0:x1]
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


def center_crop(frame: np.ndarray, *, side: int = REFERENCE_SIDE) -> np.ndarray:
    """The largest centred square of a frame, resized: the reference for pets, objects, characters."""
    import cv2

    h, w = frame.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return cv2.resize(frame[y0 : y0 + s, x0 : x0 + s], (side, side), interpolation=cv2.INTER_AREA)


def appearance_embedding(images: Sequence[np.ndarray]) -> list[float]:
    """A 384-number description of how the subject looks, averaged over reference images.

    First 128: an HSV colour histogram (8 hue x 4 saturation x 4 value bins), L1-normalised;
    then 256: the 16x16 greyscale thumbnail, zero-mean and unit-norm. The whole vector is
    L2-normalised. It is cheap and deterministic; it lets the generator and moderation compare
    a rendered subject with its reference (cosine similarity), not recognise identity.
    """
    import cv2

    if not images:
        raise ValueError("appearance_embedding needs at least one image")
    hists = []
    thumbs = []
    for rgb in images:
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256]).flatten()
        hists.append(hist / max(hist.sum(), 1.0))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        thumb = cv2.resize(gray, (FACE_VECTOR_SIDE, FACE_VECTOR_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb = thumb.flatten() - thumb.mean()
        thumbs.append(thumb / (np.linalg.norm(thumb) or 1.0))
    vector = np.concatenate([np.mean(hists, axis=0), np.mean(thumbs, axis=0)]).astype(np.float32)
    vector /= np.linalg.norm(vector) or 1.0
    return [round(float(v), 6) for v in vector]


def encode_png(rgb: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


# --- clips for tests and the demo ------------------------------------------------------------


def encode_clip(frames: Iterable[np.ndarray], *, fps: int = 8) -> bytes:
    """An H.264 MP4 from RGB frames (even width and height), in memory."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "crf": "20"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return buffer.getvalue()


def draw_face(
    *, width: int = 640, height: int = 480, cx: int | None = None, cy: int | None = None, scale: float = 0.6
) -> np.ndarray:
    """A drawn head and shoulders (RGB) that the bundled face detector recognises as a face.

    Checked by tests (tests/cameos/test_vision.py): detection holds for scale 0.5-0.7 of a
    640x480 frame (the face then fills about a fifth of the frame's height), after H.264.
    """
    import cv2

    cx = width // 2 if cx is None else cx
    cy = int(height * 0.48) if cy is None else cy
    s = scale * height / 480
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (220, 210, 200)

    def p(dx: float, dy: float) -> tuple[int, int]:
        return cx + int(dx * s), cy + int(dy * s)

    def r(a: float, b: float) -> tuple[int, int]:
        return int(a * s), int(b * s)

    t = max(1, int(3 * s))
    cv2.ellipse(img, p(0, 260), r(170, 110), 0, 180, 360, (140, 80, 60), -1)  # shoulders
    cv2.rectangle(img, p(-40, 90), p(40, 160), (225, 180, 150), -1)  # neck
    cv2.ellipse(img, p(0, -15), r(105, 125), 0, 0, 360, (60, 40, 30), -1)  # hair
    cv2.ellipse(img, p(0, 10), r(85, 110), 0, 0, 360, (230, 190, 160), -1)  # face
    cv2.ellipse(img, p(0, -75), r(90, 45), 0, 180, 360, (60, 40, 30), -1)  # fringe
    for dx in (-35, 35):
        cv2.ellipse(img, p(dx, -10), r(18, 9), 0, 0, 360, (250, 250, 250), -1)
        cv2.circle(img, p(dx, -10), int(7 * s), (20, 40, 60), -1)
        cv2.circle(img, p(dx, -10), int(3 * s), (0, 0, 0), -1)
        cv2.line(img, p(dx - 20, -30), p(dx + 20, -32), (60, 40, 30), max(1, int(5 * s)))  # brow
    cv2.line(img, p(0, 0), p(-8, 35), (190, 150, 120), t)  # nose
    cv2.ellipse(img, p(0, 38), r(14, 6), 0, 0, 180, (190, 150, 120), t)
    cv2.ellipse(img, p(0, 62), r(30, 12), 0, 0, 180, (170, 70, 70), max(1, int(5 * s)))  # mouth
    return cv2.GaussianBlur(img, (5, 5), 0)
