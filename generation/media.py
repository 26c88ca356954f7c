"""Video bytes in and out with PyAV: probe an upload, grab a thumbnail, render a test clip, and
turn generated frames into the published video (moving watermark, H.264, thumbnail, spritesheet).

Plain module, no Django: the upload service, the tests, the demo and (later) the generation
pipeline all use it, and it must run on a GPU box alone. PyAV ships its own FFmpeg with
libx264, so nothing here needs a system FFmpeg.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np

# Containers we accept: FFmpeg's ISO-BMFF demuxer (MP4, MOV, M4V). The name of the upload and
# its Content-Type are never consulted; only what the demuxer finds in the bytes.
ACCEPTED_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2"})
# Codecs a phone can play back without transcoding.
ACCEPTED_CODECS = frozenset({"h264", "hevc", "av1", "vp9"})


class MediaError(Exception):
    """The bytes are not a video we accept. `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VideoProbe:
    container: str
    codec: str
    width: int
    height: int
    frame_count: int
    duration_s: float
    fps: float
    thumbnail_jpeg: bytes
    has_audio: bool


def _seconds(pts: int | None, time_base: Fraction | None) -> float | None:
    if pts is None or time_base is None:
        return None
    return float(pts * time_base)


def probe_video(
    source: BinaryIO,
    *,
    max_duration_s: float,
    max_dimension: int = 4096,
    thumbnail_max_side: int = 720,
) -> VideoProbe:
    """Decode every frame of `source` and describe it; refuse what is not a playable video.

    Metadata in the container is only used to pick the thumbnail and to refuse an over-long
    clip early; frame count, size and duration come from the decoded frames.
    """
    try:
        container = av.open(source, mode="r")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise MediaError("invalid_video", "The file is not a video this service can read.") from exc
    with container:
        if container.format.name not in ACCEPTED_CONTAINERS:
            raise MediaError("unsupported_container", "Upload an MP4 (H.264) video.")
        if not container.streams.video:
            raise MediaError("no_video_stream", "The file has no video track.")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        has_audio = bool(container.streams.audio)
        if codec not in ACCEPTED_CODECS:
            raise MediaError("unsupported_codec", f"Video codec {codec!r} is not accepted; use H.264.")
        declared = _seconds(stream.duration, stream.time_base)
        if declared is None and container.duration is not None:
            declared = container.duration / av.time_base
        if declared is not None and declared > max_duration_s + 0.05:
            raise MediaError("video_too_long", f"Videos may be at most {max_duration_s:g} seconds long.")
        # Thumbnail: the first frame at or after the declared middle; the decoded middle if
        # the container does not say how long it is (then a second pass finds it).
        middle_s = declared / 2 if declared else None
        stream.thread_type = "AUTO"
        frames = 0
        first_s = last_s = None
        width = height = 0
        thumbnail = None
        try:
            for frame in container.decode(stream):
                frames += 1
                width, height = frame.width, frame.height
                at = frame.time if frame.time is not None else _seconds(frame.pts, stream.time_base)
                if at is not None:
                    first_s = at if first_s is None else min(first_s, at)
                    last_s = at if last_s is None else max(last_s, at)
                    if last_s - (first_s or 0) > max_duration_s + 0.05:
                        raise MediaError("video_too_long", f"Videos may be at most {max_duration_s:g} seconds long.")
                if thumbnail is None and middle_s is not None and at is not None and at >= middle_s:
                    thumbnail = frame.to_image()
        except av.FFmpegError as exc:
            raise MediaError("invalid_video", "The video could not be decoded.") from exc
        rate = stream.average_rate or stream.guessed_rate
    if frames == 0 or width == 0 or height == 0:
        raise MediaError("invalid_video", "The video has no frames.")
    if width > max_dimension or height > max_dimension:
        raise MediaError("video_dimensions_too_large", f"Videos may be at most {max_dimension} pixels on a side.")
    fps = float(rate) if rate else 0.0
    # Duration of the last frame counts: N frames at F fps last N/F seconds.
    span = (last_s - first_s) if first_s is not None and last_s is not None else 0.0
    duration = span + (1 / fps if fps else 0.0)
    if duration > max_duration_s + 0.05:
        raise MediaError("video_too_long", f"Videos may be at most {max_duration_s:g} seconds long.")
    if thumbnail is None:
        thumbnail = _frame_at_index(source, frames // 2)
    thumbnail.thumbnail((thumbnail_max_side, thumbnail_max_side))
    out = io.BytesIO()
    thumbnail.convert("RGB").save(out, format="JPEG", quality=85)
    return VideoProbe(
        container="mp4",
        codec=codec,
        width=width,
        height=height,
        frame_count=frames,
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        thumbnail_jpeg=out.getvalue(),
        has_audio=has_audio,
    )


def _frame_at_index(source: BinaryIO, index: int):
    source.seek(0)
    with av.open(source, mode="r") as container:
        for position, frame in enumerate(container.decode(video=0)):
            if position >= index:
                return frame.to_image()
    raise MediaError("invalid_video", "The video could not be decoded twice the same way.")


def render_clip(
    *, seconds: float = 1.0, fps: int = 24, width: int = 160, height: int = 96, seed: int = 0, label: int = 0
) -> bytes:
    """A short real H.264 MP4: a coloured gradient with a moving square, different per seed.

    For tests and the demo, so they exercise the same decode path as a phone's upload.
    """
    rng = np.random.default_rng(seed)
    count = max(1, round(seconds * fps))
    base = rng.integers(40, 216, size=3)
    ys, xs = np.mgrid[0:height, 0:width]
    frames = np.empty((count, height, width, 3), dtype=np.uint8)
    side = max(4, min(width, height) // 4)
    for i in range(count):
        t = i / max(1, count - 1)
        frame = frames[i]
        frame[..., 0] = (base[0] + 60 * xs / width) % 256
        frame[..., 1] = (base[1] + 60 * ys / height) % 256
        frame[..., 2] = (base[2] + 80 * t + 10 * label) % 256
        x = int(t * (width - side))
        y = (height - side) // 2
        frame[y : y + side, x : x + side] = 255 - base
    return encode_mp4(frames, fps=fps)


# --- Generated videos: watermark, H.264 encode, thumbnail, spritesheet, probe/decode ----------
# The generation pipeline's media side: every backend's frames get the same visible moving
# watermark and the same encoding, so a video looks and plays the same whoever rendered it.

WATERMARK_PREFIX = "Sora Social"
WATERMARK_OPACITY = 0.62  # the text; its dark outline is drawn at about half of this
# Where the mark rests, as fractions of the free area (0 = left/top edge, 1 = right/bottom).
# It visits them in this order, so it crosses the frame rather than hopping to a neighbour:
# a fixed corner is easy to crop or blur away, one that moves is not.
WATERMARK_WAYPOINTS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (1.0, 0.5),
    (0.0, 1.0),
    (1.0, 0.0),
    (0.0, 0.5),
    (1.0, 1.0),
)
WATERMARK_HOLD_S = 1.2  # rests this long at each waypoint ...
WATERMARK_GLIDE_S = 0.6  # ... then glides to the next one in this long


def watermark_label(handle: str) -> str:
    """The watermark text for a creator: "Sora Social · @handle"."""
    return f"{WATERMARK_PREFIX} · @{handle.lstrip('@')}"


def _watermark_patch(text: str, frame_width: int, frame_height: int) -> np.ndarray:
    """The mark as a float RGBA patch (h, w, 4) in [0, 1], sized to the frame."""
    from PIL import Image, ImageDraw, ImageFont

    # About 4.5 % of the short side: readable on a phone, small enough not to hide the video.
    size = max(10, round(min(frame_width, frame_height) * 0.045))
    font = ImageFont.load_default(size=size)
    stroke = max(1, size // 10)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    pad = stroke + 1
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    # Never wider than the frame: shrink the font until it fits (long handles on small frames).
    while width > frame_width * 0.9 and size > 6:
        size -= 1
        font = ImageFont.load_default(size=size)
        stroke = max(1, size // 10)
        left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
        pad = stroke + 1
        width, height = right - left + 2 * pad, bottom - top + 2 * pad
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    # White text over a dark outline reads on bright and dark footage alike.
    draw.text(
        (pad - left, pad - top),
        text,
        font=font,
        fill=(255, 255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0, 128),
    )
    patch = np.asarray(image, dtype=np.float32) / 255.0
    patch[..., 3] *= WATERMARK_OPACITY
    return patch


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def watermark_position(t: float, free_width: int, free_height: int) -> tuple[int, int]:
    """Top-left corner of the mark at time `t` seconds, inside a free area of the given size."""
    period = WATERMARK_HOLD_S + WATERMARK_GLIDE_S
    step, within = divmod(max(0.0, t), period)
    here = WATERMARK_WAYPOINTS[int(step) % len(WATERMARK_WAYPOINTS)]
    there = WATERMARK_WAYPOINTS[(int(step) + 1) % len(WATERMARK_WAYPOINTS)]
    blend = _smoothstep((within - WATERMARK_HOLD_S) / WATERMARK_GLIDE_S)
    fx = here[0] + (there[0] - here[0]) * blend
    fy = here[1] + (there[1] - here[1]) * blend
    return round(fx * free_width), round(fy * free_height)


def watermark_frames(frames: np.ndarray, fps: int, text: str) -> np.ndarray:
    """A copy of `frames` (T, H, W, 3) uint8 with the visible, moving, semi-transparent mark."""
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError("frames must be shaped (T, H, W, 3)")
    _, height, width, _ = frames.shape
    patch = _watermark_patch(text, width, height)
    ph, pw = patch.shape[:2]
    margin = max(2, round(min(width, height) * 0.03))
    free_w = max(0, width - pw - 2 * margin)
    free_h = max(0, height - ph - 2 * margin)
    rgb, alpha = patch[..., :3] * 255.0, patch[..., 3:4]
    out = frames.copy()
    for index in range(out.shape[0]):
        x, y = watermark_position(index / fps, free_w, free_h)
        x, y = min(width - 1, x + margin), min(height - 1, y + margin)
        h, w = min(ph, height - y), min(pw, width - x)
        region = out[index, y : y + h, x : x + w].astype(np.float32)
        a = alpha[:h, :w]
        out[index, y : y + h, x : x + w] = (region * (1 - a) + rgb[:h, :w] * a + 0.5).astype(np.uint8)
    return out


def encode_mp4(
    frames: np.ndarray | list[np.ndarray],
    fps: int = 24,
    *,
    watermark_text: str | None = None,
    crf: int = 23,
) -> bytes:
    """Encode RGB frames (T, H, W, 3) uint8 as an H.264 yuv420p MP4, in memory.

    Width and height must be even (yuv420p halves the chroma planes). With `watermark_text`
    the frames get the visible moving mark first (see `watermark_frames`). The index (`moov`)
    is put before the media data (see `faststart`) so players start before the download ends.
    """
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError("frames must be shaped (N, H, W, 3) with N >= 1")
    _, height, width, _ = frames.shape
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p")
    if fps <= 0:
        raise ValueError("fps must be positive")
    if watermark_text:
        frames = watermark_frames(frames, fps, watermark_text)
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf)}
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return faststart(out.getvalue())


def _jpeg(image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def thumbnail_jpeg(frames: np.ndarray, *, index: int | None = None, max_side: int | None = None) -> bytes:
    """A JPEG of one frame (default: the middle one), at the frame's size or fitted in `max_side`."""
    from PIL import Image

    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError("frames must be shaped (T, H, W, 3) with T >= 1")
    index = frames.shape[0] // 2 if index is None else index
    image = Image.fromarray(frames[index])
    if max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _jpeg(image)


def spritesheet_layout(frame_count: int, width: int, height: int, *, columns: int, tile_width: int, tiles: int):
    """(frame indices, rows, tile_width, tile_height) of a spritesheet; see `spritesheet_jpeg`."""
    tiles = max(1, min(tiles, frame_count))
    indices = np.round(np.linspace(0, frame_count - 1, tiles)).astype(int).tolist()
    columns = max(1, min(columns, tiles))
    rows = -(-tiles // columns)
    tile_height = max(1, round(tile_width * height / width))
    return indices, rows, tile_width, tile_height


def spritesheet_jpeg(frames: np.ndarray, columns: int = 5, tile_width: int = 160, *, tiles: int = 10) -> bytes:
    """A grid of `tiles` evenly spaced frames, `columns` wide, each `tile_width` px wide (a scrub preview).

    Like the Videos API's `spritesheet` variant. Tiles are read left to right, top to bottom;
    the sheet is `columns * tile_width` wide and `rows * tile_height` high (unused cells black).
    """
    from PIL import Image

    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError("frames must be shaped (T, H, W, 3) with T >= 1")
    count, height, width, _ = frames.shape
    indices, rows, tile_w, tile_h = spritesheet_layout(
        count, width, height, columns=columns, tile_width=tile_width, tiles=tiles
    )
    columns = max(1, min(columns, len(indices)))
    sheet = Image.new("RGB", (columns * tile_w, rows * tile_h))
    for position, frame_index in enumerate(indices):
        tile = Image.fromarray(frames[frame_index]).resize((tile_w, tile_h), Image.Resampling.LANCZOS)
        sheet.paste(tile, ((position % columns) * tile_w, (position // columns) * tile_h))
    return _jpeg(sheet, quality=80)


def probe_mp4(data: bytes) -> dict:
    """Decode an MP4 and describe it: duration_s, width, height, frame_count, fps, codec.

    Frame count and duration come from the decoded frames (N frames at F fps last N / F s),
    not from what the container claims. Raises MediaError for bytes that are not a video.
    """
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("no_video_stream", "The file has no video track.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            codec = stream.codec_context.name
            count = width = height = 0
            for frame in container.decode(stream):
                count += 1
                width, height = frame.width, frame.height
            rate = stream.average_rate or stream.guessed_rate
    except av.FFmpegError as exc:
        raise MediaError("invalid_video", "The video could not be decoded.") from exc
    if count == 0:
        raise MediaError("invalid_video", "The video has no frames.")
    fps = float(rate) if rate else 0.0
    return {
        "duration_s": round(count / fps, 3) if fps else 0.0,
        "width": width,
        "height": height,
        "frame_count": count,
        "fps": round(fps, 3),
        "codec": codec,
    }


def decode_mp4(data: bytes, max_frames: int | None = None) -> np.ndarray:
    """The frames of an MP4 as (T, H, W, 3) uint8 RGB, at most `max_frames` of them."""
    frames: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("no_video_stream", "The file has no video track.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except av.FFmpegError as exc:
        raise MediaError("invalid_video", "The video could not be decoded.") from exc
    if not frames:
        raise MediaError("invalid_video", "The video has no frames.")
    return np.stack(frames)


def _boxes(data: bytes | memoryview, start: int = 0, end: int | None = None):
    """Yield (type, box_start, header_size, box_end) for the ISO-BMFF boxes in data[start:end]."""
    end = len(data) if end is None else end
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            if position + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, position + 8)
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            break
        yield kind, position, header, position + size
        position += size


def _shift_chunk_offsets(moov: bytearray, delta: int) -> None:
    """Add `delta` to every chunk offset (stco/co64) inside a moov box, in place."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}

    def walk(start: int, end: int) -> None:
        for kind, box_start, header, box_end in _boxes(moov, start, end):
            if kind in containers:
                walk(box_start + header, box_end)
            elif kind in (b"stco", b"co64"):
                body = box_start + header + 4  # version + flags
                (count,) = struct.unpack_from(">I", moov, body)
                fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
                for i in range(count):
                    at = body + 4 + i * width
                    (offset,) = struct.unpack_from(fmt, moov, at)
                    if kind == b"stco" and offset + delta > 0xFFFFFFFF:
                        raise OverflowError("chunk offset beyond 32 bits")
                    struct.pack_into(fmt, moov, at, offset + delta)

    walk(0, len(moov))


def faststart(data: bytes) -> bytes:
    """Move the `moov` index in front of `mdat` (what FFmpeg's `+faststart` does), in memory.

    FFmpeg's faststart pass re-reads its own output from a file, which an in-memory PyAV
    output cannot offer, so the relocation is done here: top-level boxes are reordered to
    ftyp, moov, everything else, and every chunk offset is shifted by the moov's size.
    Returns the input unchanged when the moov already comes first or the layout is unusual.
    """
    top = list(_boxes(data))
    kinds = [kind for kind, *_ in top]
    if b"moov" not in kinds or b"mdat" not in kinds or kinds.index(b"moov") < kinds.index(b"mdat"):
        return data
    if sum(1 for kind in kinds if kind == b"moov") != 1 or top[-1][3] != len(data):
        return data
    _, moov_start, _, moov_end = top[kinds.index(b"moov")]
    moov = bytearray(data[moov_start:moov_end])
    head = [box for box in top if box[0] == b"ftyp"]
    rest = [box for box in top if box[0] not in (b"ftyp", b"moov")]
    # Media data moves back by exactly the moov's size (it was behind everything it now follows).
    try:
        _shift_chunk_offsets(moov, len(moov))
    except (OverflowError, struct.error):
        return data
    out = bytearray()
    for _, start, _, end in head:
        out += data[start:end]
    out += moov
    for _, start, _, end in rest:
        out += data[start:end]
    return bytes(out)


def fit_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Frames (T, H, W, 3) scaled and centre-cropped to fill exactly (T, height, width, 3).

    For frames that arrive at another size than asked for (a remote server's own resolution,
    an uploaded reference image); the embedded model has its own upscaler for its tiny frames.
    Aspect ratio is kept: the frame is scaled to cover the target and the overflow cropped.
    """
    import cv2

    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError("frames must be shaped (T, H, W, 3)")
    _, src_h, src_w, _ = frames.shape
    if (src_w, src_h) == (width, height):
        return frames
    scale = max(width / src_w, height / src_h)
    scaled_w, scaled_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    left, top = (scaled_w - width) // 2, (scaled_h - height) // 2
    # Area averaging when shrinking (no aliasing), bicubic when enlarging.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = np.empty((frames.shape[0], height, width, 3), dtype=np.uint8)
    for index, frame in enumerate(frames):
        scaled = cv2.resize(frame, (scaled_w, scaled_h), interpolation=interpolation)
        out[index] = scaled[top : top + height, left : left + width]
    return out


def fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """One (H, W, 3) image scaled and centre-cropped to (height, width, 3); see `fit_frames`."""
    return fit_frames(np.asarray(image, dtype=np.uint8)[None], width, height)[0]


def png_bytes(image: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 image as PNG bytes (lossless, for sending a reference frame)."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def mp4_fps(data: bytes) -> float:
    """The frame rate an MP4 declares for its video track (no decoding); 0.0 if it declares none."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("no_video_stream", "The file has no video track.")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
    except av.FFmpegError as exc:
        raise MediaError("invalid_video", "The video could not be read.") from exc
    return float(rate) if rate else 0.0
