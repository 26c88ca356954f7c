"""Recognise our own media when it comes back: is an upload or a reference image one of our videos?

Two ways, strongest first:
1. C2PA: a manifest that our signing certificate signed names the job that made the video
   (`parameters.job_id`, the job's public id) and has a label the rendition recorded. It
   identifies the video even when the bytes were changed after signing (a trimmed copy): the
   signature vouches that the manifest is ours, and a manifest copied onto other pixels only
   makes them inherit more cameos, never fewer.
2. Perceptual hashes of frames (generation/frame_hash.py): every video, generated or uploaded,
   has the hashes of frames sampled at `INDEX_FPS` (plus its thumbnail) in `VideoFrameHash`.
   A query clip is hashed the same way; its frames' 16-bit bands select candidate videos with
   an index query; each candidate is compared frame by frame at matching times
   (`frame_hash.align`), and those under `MEDIA_MATCH_VIDEO_MAX_DISTANCE` are kept. A still
   (a thumbnail, one frame used as `input_reference`) is compared with every frame and the
   thumbnail of the candidates, under `MEDIA_MATCH_IMAGE_MAX_DISTANCE`.
3. Verification in detail: the hash keeps only low frequencies, and the demo model's clips of
   one shape doing the same thing at the same place hash alike without being copies of each
   other. So the nearest candidates that pass (at most `DETAIL_VERIFIED`) are decoded from
   storage and compared with the query at the aligned frames in fine detail, allowing for a
   small crop (`frame_hash.detail_similarity`); the first whose median similarity reaches
   `MEDIA_MATCH_DETAIL_MIN` is the match. A video whose files are gone (an owner removed it and
   it was erased) keeps its hashes so that it cannot come back; with nothing to verify against,
   its candidates are decided by the hash alone, under the stricter
   `MEDIA_MATCH_UNVERIFIED_VIDEO_MAX_DISTANCE` / `..._IMAGE_...` (a look-alike is then refused
   rather than a removed video let back in); so are pictures too smooth to have any detail.

Thresholds were chosen on a tuning split of `python -m benchmarks.bench_media_match` and are
reported on another split there (docs/generation.md, "Recognising our own media").
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from generation import frame_hash
from generation.models import GenerationJob, Video, VideoFrameHash, VideoRendition

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

HASH_VERSION = 1
INDEX_FPS = 4.0  # frames hashed per second of video ...
INDEX_MAX_FRAMES = 120  # ... up to this many (a longer video is sampled more sparsely)
QUERY_FPS = 4.0
QUERY_MAX_FRAMES = 160
CANDIDATE_VIDEOS = 24  # videos compared in full after the band look-up
DETAIL_VERIFIED = 3  # nearest passing candidates decoded and verified in detail
DETAIL_PAIRS = 12  # aligned frame pairs compared in detail per candidate (spread over the clip)


def video_max_distance() -> float:
    """Largest median fraction of differing bits (aligned frames) that still counts as a match."""
    return float(getattr(settings, "MEDIA_MATCH_VIDEO_MAX_DISTANCE", 0.25))


def image_max_distance() -> float:
    """Largest fraction of differing bits between a still and its nearest indexed frame."""
    return float(getattr(settings, "MEDIA_MATCH_IMAGE_MAX_DISTANCE", 0.25))


def unverified_max_distance(*, still: bool) -> float:
    """Hash-only bound for candidates with no detail to verify against (files gone, smooth pictures)."""
    if still:
        return float(getattr(settings, "MEDIA_MATCH_UNVERIFIED_IMAGE_MAX_DISTANCE", 0.09))
    return float(getattr(settings, "MEDIA_MATCH_UNVERIFIED_VIDEO_MAX_DISTANCE", 0.17))


def detail_min() -> float:
    """Smallest median detail similarity (`frame_hash.detail_similarity`) that confirms a match."""
    return float(getattr(settings, "MEDIA_MATCH_DETAIL_MIN", 0.855))


@dataclass(frozen=True)
class MediaMatch:
    video_id: int
    method: str  # "c2pa" | "phash"
    distance: float  # 0.0 for c2pa; else the fraction of differing hash bits (0..1)
    detail: float | None = None  # phash: the detail similarity of the verification (0..1)
    unverified: bool = False  # phash: nothing to verify against in detail; decided by the hash alone


# --- C2PA ---------------------------------------------------------------------------------------


def _trust_anchor() -> str | None:
    from generation.provenance import root_certificate_pem

    try:
        return root_certificate_pem(settings.C2PA_CERT_CHAIN_PATH)
    except (OSError, ValueError, IndexError):
        return None


def _job_id_of(manifest: dict) -> str | None:
    for assertion in manifest.get("assertions") or []:
        label = str(assertion.get("label", ""))
        data = assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions") or []:
                job_id = (action.get("parameters") or {}).get("job_id")
                if action.get("action") == "c2pa.created" and job_id:
                    return str(job_id)
        if label == "stds.schema-org.CreativeWork" and data.get("identifier"):
            return str(data["identifier"])
    return None


def match_c2pa(video_bytes: bytes) -> MediaMatch | None:
    """The video a C2PA manifest signed by us names, if the bytes carry one."""
    from generation.provenance import ProvenanceError, read_manifest

    anchor = _trust_anchor()
    if anchor is None:  # no signing material here: nothing can be recognised as ours this way
        return None
    try:
        manifest = read_manifest(video_bytes, trust_anchors_pem=anchor)
    except ProvenanceError:
        return None
    if not manifest:
        return None
    codes = {str(failure.get("code", "")) for failure in manifest.get("validation_failures") or []}
    # Only the signature decides whether the manifest is ours; a hash mismatch (the bytes were
    # edited after signing) still means it was cut from one of our videos.
    if any(code.startswith(("signingCredential", "claimSignature", "timeStamp.untrusted")) for code in codes):
        return None
    video_id = None
    job_id = _job_id_of(manifest)
    if job_id:
        video_id = GenerationJob.objects.filter(public_id=job_id).values_list("result_video_id", flat=True).first()
    if video_id is None and manifest.get("label"):
        video_id = (
            VideoRendition.objects.filter(c2pa_manifest_label=manifest["label"])
            .values_list("video_id", flat=True)
            .first()
        )
    return MediaMatch(video_id=video_id, method="c2pa", distance=0.0) if video_id else None


# --- The frame index ----------------------------------------------------------------------------


def _index_fps(duration_s: float) -> float:
    return min(INDEX_FPS, INDEX_MAX_FRAMES / max(duration_s, 1e-3))


def _rows(video: Video, hashes: list[frame_hash.FrameHash]) -> list[VideoFrameHash]:
    rows = []
    for h in hashes:
        band = frame_hash.bands(h.luma)
        rows.append(
            VideoFrameHash(
                video=video,
                position=h.position,
                at_s=h.at_s,
                luma=frame_hash.to_signed(h.luma),
                chroma=frame_hash.to_signed(h.chroma),
                band0=band[0],
                band1=band[1],
                band2=band[2],
                band3=band[3],
                version=HASH_VERSION,
            )
        )
    return rows


def video_frame_hashes_compute(*, video: Video) -> list[frame_hash.FrameHash]:
    """The hashes `video_frames_index` stores for a video: sampled frames, then the thumbnail."""
    from PIL import Image

    with video.file.open("rb") as handle:
        data = handle.read()
    hashes = frame_hash.video_frame_hashes(data, fps=_index_fps(video.duration_s), max_frames=INDEX_MAX_FRAMES)
    if video.thumbnail:
        with video.thumbnail.open("rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
            luma, chroma = frame_hash.image_hash(image)
        hashes.append(frame_hash.FrameHash(position=len(hashes), at_s=None, luma=luma, chroma=chroma))
    return hashes


def video_frames_index(*, video: Video) -> int:
    """(Re)index a video's frames and thumbnail; returns the number of hashes stored. Idempotent.

    Called on commit of every new video (generated or uploaded) through the
    `generation.video_frames_index` task, and by `manage.py index_video_frames` for older ones.
    The hashing (decoding) happens before the transaction that replaces the rows.
    """
    return _frames_store(video=video, hashes=video_frame_hashes_compute(video=video))


@transaction.atomic
def _frames_store(*, video: Video, hashes: list[frame_hash.FrameHash]) -> int:
    if not Video.objects.select_for_update().filter(pk=video.pk).exists():
        return 0  # deleted meanwhile
    VideoFrameHash.objects.filter(video_id=video.pk).delete()
    VideoFrameHash.objects.bulk_create(_rows(video, hashes))
    return len(hashes)


def videos_needing_index(*, limit: int | None = None) -> list[int]:
    """Ids of videos with no hashes of the current recipe, oldest first."""
    ids = (
        Video.objects.exclude(frame_hashes__version=HASH_VERSION).order_by("id").values_list("id", flat=True).distinct()
    )
    return list(ids[:limit] if limit else ids)


def video_frames_backfill(*, batch: int = 200) -> int:
    """Index up to `batch` videos the on-commit task missed (broker down, older videos)."""
    done = 0
    for video in Video.objects.filter(pk__in=videos_needing_index(limit=batch)).order_by("id"):
        try:
            video_frames_index(video=video)
            done += 1
        except Exception:  # one unreadable file must not stop the rest
            logger.exception("could not index the frames of video %s", video.pk)
    return done


# --- Look-up ------------------------------------------------------------------------------------


_CANDIDATES_SQL = """
SELECT video_id, COUNT(*) AS hits
FROM generation_videoframehash
WHERE version = %(version)s
  AND (band0 = ANY(%(b0)s) OR band1 = ANY(%(b1)s) OR band2 = ANY(%(b2)s) OR band3 = ANY(%(b3)s))
GROUP BY video_id
ORDER BY hits DESC, video_id DESC
LIMIT %(limit)s
"""


def _candidate_videos(lumas: list[int], *, radius: int) -> list[int]:
    """Videos with a frame sharing a band with a query hash (up to `radius` (0 or 1) bits off)."""
    per_band: list[set[int]] = [set() for _ in range(frame_hash.BANDS)]
    for luma in lumas:
        for i, band in enumerate(frame_hash.bands(luma)):
            per_band[i].update(frame_hash.band_neighbours(band) if radius else (band,))
    params = {f"b{i}": sorted(values) for i, values in enumerate(per_band)}
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, {**params, "version": HASH_VERSION, "limit": CANDIDATE_VIDEOS})
        return [row[0] for row in cursor.fetchall()]


def _indexed(video_ids: list[int]) -> dict[int, list[frame_hash.FrameHash]]:
    found: dict[int, list[frame_hash.FrameHash]] = {video_id: [] for video_id in video_ids}
    rows = (
        VideoFrameHash.objects.filter(video_id__in=video_ids, version=HASH_VERSION)
        .order_by("video_id", "position")
        .values_list("video_id", "position", "at_s", "luma", "chroma")
    )
    for video_id, position, at_s, luma, chroma in rows:
        found[video_id].append(
            frame_hash.FrameHash(
                position=position, at_s=at_s, luma=frame_hash.to_unsigned(luma), chroma=frame_hash.to_unsigned(chroma)
            )
        )
    return found


def _step_of(hashes: list[frame_hash.FrameHash]) -> float:
    times = sorted(h.at_s for h in hashes if h.at_s is not None)
    if len(times) < 2:
        return 1.0 / INDEX_FPS
    return float(np.median(np.diff(times))) or 1.0 / INDEX_FPS


def _stored_pictures(video_id: int) -> dict[int, np.ndarray]:
    """The WORK_SIDE RGB pictures of an indexed video by index position: its frames decoded from
    storage the way `video_frames_index` sampled them, then its thumbnail. Empty when the files
    are gone (a video erased meanwhile matches nothing)."""
    from PIL import Image

    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return {}
    try:
        with video.file.open("rb") as handle:
            data = handle.read()
        frames = frame_hash.video_frames(data, fps=_index_fps(video.duration_s), max_frames=INDEX_MAX_FRAMES)
    except Exception:  # the file is missing or no longer decodes
        logger.warning("media match: video %s could not be decoded for verification", video_id)
        return {}
    pictures = {h.position: rgb for h, rgb in frames}
    if video.thumbnail:
        try:
            with video.thumbnail.open("rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
                pictures[len(frames)] = frame_hash.work_rgb(image)
        except OSError:
            pass
    return pictures


def _spread(pairs: tuple[tuple[int, int], ...], count: int) -> list[tuple[int, int]]:
    if len(pairs) <= count:
        return list(pairs)
    return [pairs[int(i)] for i in np.linspace(0, len(pairs) - 1, count).round()]


def _detail_of(query_pictures: dict[int, np.ndarray], pairs: list[tuple[int, int]], video_id: int) -> float | None:
    """Median detail similarity of the query's pictures and the video's at these positions; None
    when there is nothing to verify against (the video's files are gone, or the pictures are too
    smooth to have detail)."""
    stored = _stored_pictures(video_id)
    similarities = [
        frame_hash.detail_similarity(query_pictures[q], stored[i])
        for q, i in pairs
        if q in query_pictures and i in stored
    ]
    scores = [score for score in similarities if score is not None]
    return float(np.median(scores)) if scores else None


def nearest_video(
    query: list[tuple[frame_hash.FrameHash, np.ndarray]], *, max_distance: float | None = None
) -> MediaMatch | None:
    """The indexed video a sampled query clip (`frame_hash.video_frames`) is nearest to, among the
    candidates within `max_distance` of hash distance (default `MEDIA_MATCH_VIDEO_MAX_DISTANCE`):
    the nearest that verifies in detail, else the nearest one, with its detail similarity. The
    caller decides with `is_match`; the benchmark looks at every distance."""
    if not query:
        return None
    limit = video_max_distance() if max_distance is None else max_distance
    hashes = [h for h, _ in query]
    pictures = {h.position: rgb for h, rgb in query}
    aligned = []
    for video_id, indexed in _indexed(_candidate_videos([h.luma for h in hashes], radius=1)).items():
        alignment = frame_hash.align(hashes, indexed, step_s=_step_of(indexed))
        if alignment is not None and alignment.distance <= limit:
            aligned.append((alignment.distance, video_id, alignment))
    aligned.sort(key=lambda item: (item[0], item[1]))
    nearest: MediaMatch | None = None
    for distance, video_id, alignment in aligned[:DETAIL_VERIFIED]:
        found = _verified(video_id, distance, _detail_of(pictures, _spread(alignment.pairs, DETAIL_PAIRS), video_id))
        if is_match(found, still=False):
            return found
        nearest = nearest or found
    return nearest


def nearest_image(picture: np.ndarray, *, max_distance: float | None = None) -> MediaMatch | None:
    """The indexed video one of whose frames (or its thumbnail) a still is nearest to, as
    `nearest_video` decides it: within `max_distance` of hash distance (default
    `MEDIA_MATCH_IMAGE_MAX_DISTANCE`), the nearest that verifies in detail, else the nearest."""
    limit = image_max_distance() if max_distance is None else max_distance
    luma, chroma = frame_hash.frame_hash(picture)
    query = np.array([(luma, chroma)], dtype=np.uint64)
    near = []
    for video_id, indexed in _indexed(_candidate_videos([luma], radius=1)).items():
        if not indexed:
            continue
        row = frame_hash.distances(query, frame_hash.as_array(indexed))[0]
        best = int(row.argmin())
        if float(row[best]) <= limit:
            near.append((float(row[best]), video_id, indexed[best].position))
    near.sort(key=lambda item: (item[0], item[1]))
    nearest: MediaMatch | None = None
    for distance, video_id, position in near[:DETAIL_VERIFIED]:
        found = _verified(video_id, distance, _detail_of({0: picture}, [(0, position)], video_id))
        if is_match(found, still=True):
            return found
        nearest = nearest or found
    return nearest


def _verified(video_id: int, distance: float, detail: float | None) -> MediaMatch:
    return MediaMatch(
        video_id=video_id,
        method="phash",
        distance=round(distance, 4),
        detail=None if detail is None else round(detail, 4),
        unverified=detail is None,
    )


def is_match(found: MediaMatch | None, *, still: bool) -> bool:
    """Whether a look-up's answer counts: C2PA always; a hash match once verified in detail, or,
    for a video whose files are gone, within the stricter hash-only bound."""
    if found is None:
        return False
    if found.method == "c2pa":
        return True
    if found.unverified:
        return found.distance <= unverified_max_distance(still=still)
    return (found.detail or 0.0) >= detail_min()


def match_media(*, video_bytes: bytes | None = None, image: Image.Image | None = None) -> MediaMatch | None:
    """Which of our videos is this upload (or a cut of it), or this still a frame of? None if none.

    Give either the bytes of a video or a PIL image. Bytes that are not a decodable video match
    nothing (the upload's own checks refuse them). Read-only; safe inside a request.
    """
    if (video_bytes is None) == (image is None):
        raise ValueError("match_media takes exactly one of video_bytes or image")
    if image is not None:
        found = nearest_image(frame_hash.work_rgb(image))
        return found if is_match(found, still=True) else None
    found = match_c2pa(video_bytes)
    if found is not None:
        return found
    try:
        query = frame_hash.video_frames(video_bytes, fps=QUERY_FPS, max_frames=QUERY_MAX_FRAMES)
    except Exception:  # not a video PyAV can decode (av.FFmpegError and friends)
        logger.info("media match: the bytes did not decode as a video")
        return None
    found = nearest_video(query)
    return found if is_match(found, still=False) else None
