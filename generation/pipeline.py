"""The worker's side of a job: render with the backend, then watermark, encode, sign, check.

Runs outside any transaction (it takes seconds to minutes); every state change goes through
generation.jobs under the job's row lock.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time

import numpy as np
from billiard.exceptions import SoftTimeLimitExceeded

from generation import jobs
from generation.backends.base import BackendError, RenderRequest, get_backend
from generation.models import GenerationJob, JobKind
from sora_social.common.outages import outage_of

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5  # at most two progress writes a second; each is also the heartbeat
RENDER_SHARE = 0.9  # of the progress bar; encoding, signing and checks take the rest


def _image(path_or_file) -> np.ndarray:
    from PIL import Image

    with Image.open(path_or_file) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _cameo_images(job: GenerationJob) -> tuple[np.ndarray, ...]:
    from django.core.files.storage import default_storage

    from cameos.selectors import cameo_generation_view

    images = []
    # Only named cameos condition the model; inherited ones are already in the source's pixels.
    for link in job.job_cameos.filter(inherited=False).select_related("cameo").order_by("position"):
        view = cameo_generation_view(link.cameo)
        if view["reference_image_path"]:
            with default_storage.open(view["reference_image_path"], "rb") as handle:
                images.append(_image(io.BytesIO(handle.read())))
    return tuple(images)


def _source_frames(job: GenerationJob) -> np.ndarray | None:
    if job.source_video is None:
        return None
    from generation.media import decode_mp4

    with job.source_video.file.open("rb") as handle:
        return decode_mp4(handle.read())


def _prompt_with_instructions(job: GenerationJob) -> str:
    """Cameo owners' instructions travel with the prompt ("always wearing a hat")."""
    from cameos.selectors import cameo_generation_view

    extra = []
    for link in job.job_cameos.select_related("cameo"):
        instructions = cameo_generation_view(link.cameo)["instructions"]
        if instructions:
            extra.append(instructions.strip().rstrip("."))
    return job.prompt if not extra else f"{job.prompt}. {'. '.join(extra)}."


def _remote_id_of(video) -> str | None:
    """The parent's id on the remote server, when the remote backend rendered it (true remixes)."""
    rendition = getattr(video, "rendition", None) if video is not None else None
    return (rendition.remote_video_id or None) if rendition is not None else None


def build_request(job: GenerationJob) -> RenderRequest:
    source = _source_frames(job)
    reference = None
    if job.input_reference:
        with job.input_reference.open("rb") as handle:
            reference = _image(io.BytesIO(handle.read()))
    return RenderRequest(
        prompt=_prompt_with_instructions(job),
        seed=job.seed,
        seconds=job.seconds,
        width=job.width,
        height=job.height,
        cameo_images=_cameo_images(job),
        remix_frames=source if job.kind in (JobKind.REMIX, JobKind.EDIT) else None,
        remix_strength=job.remix_strength,
        remix_remote_id=_remote_id_of(job.source_video) if job.kind in (JobKind.REMIX, JobKind.EDIT) else None,
        extend_frames=source if job.kind == JobKind.EXTEND else None,
        input_reference=reference,
    )


class _Progress:
    def __init__(self, job: GenerationJob) -> None:
        self.job = job
        self.last = 0.0

    def __call__(self, index: int, fraction: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        jobs.generation_job_progress(job_id=self.job.pk, attempt=self.job.attempts, percent=int(fraction * 100))


class _Heartbeat:
    """Beats for this attempt every `every` seconds from a thread of its own, so a long stage
    with no progress to report (upscale, encode, the media check of a 12-s clip) never looks
    like a dead worker to the reaper. It dies with the process, which is what the reaper is for."""

    def __init__(self, job_id: int, attempt: int, every: float) -> None:
        self.job_id, self.attempt, self.every = job_id, attempt, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(self.every):
                try:
                    if not jobs.generation_job_heartbeat(job_id=self.job_id, attempt=self.attempt):
                        return  # the job moved on (finished, cancelled, reaped)
                except Exception:  # the database is away: the reaper judges by the last beat
                    logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def run(job_id: int, *, worker: str) -> str:
    """Do one attempt of a job. Returns what happened, for the task's log."""
    job = jobs.generation_job_start(job_id=job_id, worker=worker)
    if job is None:
        return "skipped: not queued"
    from django.conf import settings

    with _Heartbeat(job.pk, job.attempts, every=max(0.5, settings.GENERATION_STALE_AFTER_S / 4)):
        return _run_attempt(job)


def _run_attempt(job: GenerationJob) -> str:
    attempt = job.attempts
    progress = _Progress(job)
    try:
        request = build_request(job)
        backend = get_backend(job.backend)
        started = time.monotonic()
        result = backend.render([request], progress=lambda i, f: progress(i, f * RENDER_SHARE))[0]
        logger.info(
            "job %s rendered by %s/%s in %.1fs", job.public_id, result.backend, result.model, time.monotonic() - started
        )
        progress(0, RENDER_SHARE + 0.02, force=True)
        frames, kept = stitch_extension(job, request, result.frames, result.fps)
        media = finish_media(
            job,
            frames,
            result.fps,
            backend=result.backend,
            model=result.model,
            remote_id=result.remote_id,
            already_marked=kept,
        )
        progress(0, 0.99, force=True)
        jobs.generation_job_complete(job_id=job.pk, attempt=attempt, media=media)
        return "succeeded"
    except jobs.JobNotRunnable as stopped:
        return f"stopped: job is {stopped}"
    except BackendError as error:
        if error.retryable:
            jobs.generation_job_retry(job_id=job.pk, attempt=attempt, reason=error.message)
            return f"retry: {error.code}"
        jobs.generation_job_fail(job_id=job.pk, attempt=attempt, code=error.code, message=error.message)
        return f"failed: {error.code}"
    except SoftTimeLimitExceeded:
        jobs.generation_job_fail(
            job_id=job.pk, attempt=attempt, code="timeout", message="Rendering took longer than the time limit."
        )
        return "failed: timeout"
    except Exception as exc:
        if outage_of(exc) is not None:
            # The database (or Redis) went away mid-job: not the job's fault. Queue another
            # attempt if the database answers again; if it does not, the job stays `running`
            # and the reaper requeues it once its heartbeat is stale.
            logger.warning("generation job %s: %s unreachable mid-job (%s)", job.public_id, outage_of(exc), exc)
            with contextlib.suppress(Exception):
                jobs.generation_job_retry(job_id=job.pk, attempt=attempt, reason="A service was briefly unreachable.")
            return f"interrupted: {outage_of(exc)} unreachable"
        # A bug, not the user's fault: fail this attempt cleanly (refunded) and let the task log it.
        logger.exception("generation job %s crashed", job.public_id)
        jobs.generation_job_fail(
            job_id=job.pk, attempt=attempt, code="internal_error", message="Something went wrong while rendering."
        )
        raise


def stitch_extension(
    job: GenerationJob, request: RenderRequest, frames: np.ndarray, fps: int
) -> tuple[np.ndarray, int]:
    """An extension's video is the parent followed by the new frames (OpenAI's stitched result).

    Returns the frames and how many leading ones are the parent's (already watermarked). The
    parent is resampled to the new part's frame rate and size; other kinds pass through.
    """
    parent = request.extend_frames
    if job.kind != JobKind.EXTEND or parent is None or len(parent) == 0:
        return frames, 0
    height, width = frames.shape[1:3]
    parent_fps = float(job.source_video.fps or fps) if job.source_video is not None else float(fps)
    count = max(1, round(len(parent) * fps / parent_fps))
    picks = np.minimum((np.arange(count) * parent_fps / fps).astype(int), len(parent) - 1)
    lead = np.asarray(parent)[picks]
    if lead.shape[1:3] != (height, width):
        from generation.video_model.pipeline import upscale_frames

        lead = np.asarray(upscale_frames(lead, width=width, height=height), dtype=np.uint8)
    return np.concatenate([lead.astype(np.uint8), frames]), len(lead)


def finish_media(
    job: GenerationJob,
    frames: np.ndarray,
    fps: int,
    *,
    backend: str,
    model: str,
    remote_id: str | None = None,
    already_marked: int = 0,
) -> jobs.RenderedMedia:
    """Check the frames, watermark them once, and make the MP4 (signed), thumbnail and spritesheet.

    The first `already_marked` frames (an extension's parent) carry their mark already.
    """
    from generation.media import encode_mp4, spritesheet_jpeg, thumbnail_jpeg, watermark_frames, watermark_label
    from generation.provenance import read_manifest, sign_mp4
    from moderation.policy.services import media_check

    # The check sees the frames as the model made them, before our own mark is drawn on them.
    verdict = media_check(frames[already_marked:], banned_hashes=None)
    watermark = watermark_label(job.user.handle)
    # Every output carries the mark, thumbnails too; never twice on the same frame.
    marked = np.concatenate([frames[:already_marked], watermark_frames(frames[already_marked:], fps, watermark)])
    signed = sign_mp4(
        encode_mp4(marked, fps),
        title=f"{job.public_id}.mp4",
        creator_handle=job.user.handle,
        model=model,
        prompt_summary=job.prompt[:200],
        job_id=job.public_id,
    )
    manifest = read_manifest(signed) or {}
    return jobs.RenderedMedia(
        mp4=signed,
        thumbnail_jpeg=thumbnail_jpeg(marked),
        spritesheet_jpeg=spritesheet_jpeg(marked),
        backend=backend,
        model=model,
        watermark_text=watermark,
        c2pa_signed=bool(manifest),
        c2pa_manifest_label=str(manifest.get("label", "")),
        media_policy=verdict.as_dict(),
        media_blocked=verdict.blocked,
        remote_id=remote_id or "",
    )
