"""The worker's side of a job: render with the backend, then watermark, encode, sign, check.

A gpu worker's task claims its job and up to GENERATION_BATCH_MAX - 1 compatible queued jobs
(`generation.jobs.generation_jobs_start_batch`, SKIP LOCKED), renders them in one backend call,
and hands each rendered job's CPU stages to a thread pool (`MediaStage`) that works on them
while the worker renders its next batch. Each job keeps its own attempt, progress, heartbeat
and settlement, exactly as when it ran alone.

Runs outside any transaction (it takes seconds to minutes); every state change goes through
generation.jobs under the job's row lock.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from functools import partial

import numpy as np
from billiard.exceptions import SoftTimeLimitExceeded

from generation import jobs
from generation.backends.base import BackendError, RenderRequest, RenderResult, get_backend
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
        client_ref=f"{job.public_id}-{job.attempts}",
    )


class _Progress:
    """One job's progress writes (each also its heartbeat), at most one per PROGRESS_EVERY_S."""

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
    """Beats for every job of a batch, each for its own attempt, every `every` seconds from a
    thread of its own, so a long stage with no progress to report (a batch's render, upscale,
    encode, the media check of a 12-s clip) never looks like a dead worker to the reaper. A job
    leaves the beat when it is settled or has moved on; the beat stops for good after
    `deadline_s` (a stage that hangs then looks dead, and the reaper takes the job back). It
    dies with the process, which is what the reaper is for."""

    def __init__(self, attempts: dict[int, int], every: float, deadline_s: float) -> None:
        self.attempts = dict(attempts)
        self.every = every
        self.deadline = time.monotonic() + deadline_s
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{min(attempts)}", daemon=True)

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(self.every):
                if time.monotonic() > self.deadline:
                    logger.warning("jobs %s: past the time limit; heartbeat stops", sorted(self.attempts))
                    return
                with self.lock:
                    beating = list(self.attempts.items())
                for job_id, attempt in beating:
                    try:
                        if not jobs.generation_job_heartbeat(job_id=job_id, attempt=attempt):
                            self.done(job_id)  # the job moved on (finished, cancelled, reaped)
                    except Exception:  # the database is away: the reaper judges by the last beat
                        logger.warning("job %s: heartbeat failed", job_id, exc_info=True)
                if not beating:
                    return
        finally:
            connection.close()

    def start(self) -> _Heartbeat:
        self.thread.start()
        return self

    def done(self, job_id: int) -> None:
        with self.lock:
            self.attempts.pop(job_id, None)
            if not self.attempts:
                self.stopped.set()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=5)

    def __enter__(self) -> _Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- worker events (where metrics attach) ---------------------------------------------------


@dataclass(frozen=True)
class WorkerEvent:
    """What a gpu worker did, for metrics: `batch_rendered` (jobs = the batch's size, seconds =
    the model pass, busy time of the accelerator), `job_finished` (jobs = 1, seconds = claim to
    settled, outcome = succeeded/failed/...), `media_done` (seconds = one job's CPU stages)."""

    kind: str
    jobs: int
    seconds: float
    backend: str = ""
    outcome: str = ""


WORKER_EVENT_LISTENERS: list[Callable[[WorkerEvent], None]] = []


def worker_event(event: WorkerEvent) -> None:
    """Hand an event to every listener (a metrics exporter appends one); never raises."""
    logger.debug("worker event %s", event)
    for listener in WORKER_EVENT_LISTENERS:
        try:
            listener(event)
        except Exception:
            logger.warning("worker event listener failed", exc_info=True)


# --- the media stage: CPU work beside the next render ---------------------------------------


class MediaStage:
    """A thread pool for the CPU stages of rendered jobs (stitch, media check, watermark,
    encode, sign, store), per worker process.

    `submit_batch` first waits for the batch handed over before: the worker renders batch k+1
    while batch k's media runs here, and never more than that, so a slow CPU side slows the
    renders instead of piling rendered frames up in memory. Encoders, OpenCV and the ONNX
    checks release the GIL, so threads run them in parallel.
    """

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="media")
        self.pending: list[Future] = []
        self.lock = threading.Lock()

    def submit_batch(self, work: list[Callable[[], str]]) -> list[Future]:
        with self.lock:
            futures_wait(self.pending)
            self.pending = [self.pool.submit(item) for item in work]
            return list(self.pending)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for what is in flight (a worker process shutting down); True if all finished."""
        with self.lock:
            pending = list(self.pending)
        _done, not_done = futures_wait(pending, timeout=timeout)
        return not not_done


_stage: MediaStage | None = None
_stage_lock = threading.Lock()


def media_stage() -> MediaStage:
    from django.conf import settings

    global _stage
    with _stage_lock:
        if _stage is None:
            _stage = MediaStage(settings.GENERATION_MEDIA_THREADS or settings.GENERATION_BATCH_MAX)
        return _stage


def drain_media_stage(timeout: float | None = None) -> bool:
    """Finish the media of rendered jobs before the process exits (worker_process_shutdown)."""
    return _stage.drain(timeout) if _stage is not None else True


# --- one batch: claim, render in one pass, finish each job ----------------------------------


class _AllStopped(Exception):
    """Every job of the batch moved on (cancelled, reaped) while rendering: stop the pass."""


@dataclass
class _Slot:
    """One job of a batch: its attempt, its render request and result, or how it ended early."""

    job: GenerationJob
    progress: _Progress
    claimed_at: float
    request: RenderRequest | None = None
    result: RenderResult | None = None
    outcome: str | None = None  # set once the job is settled (or stopped) before its media

    @property
    def attempt(self) -> int:
        return self.job.attempts


def batch_limit(job_id: int) -> int:
    """How many jobs a worker claims with this one: GENERATION_BATCH_MAX, capped by its backend."""
    from django.conf import settings

    from generation.backends.base import backend_batch_limit

    row = GenerationJob.objects.filter(pk=job_id).values_list("backend", "batch_key").first()
    if row is None or not row[1]:
        return 1  # no such job, or one that renders alone
    backend = row[0]
    try:
        return max(1, min(settings.GENERATION_BATCH_MAX, backend_batch_limit(backend)))
    except BackendError:
        return 1


def run(job_id: int, *, worker: str) -> str:
    """Do one attempt of one job, media included, in this thread. Returns what happened."""
    outcomes = run_batch(job_id, worker=worker, limit=1, wait=True)
    return outcomes.get(job_id, "skipped: not queued")


def run_batch(job_id: int, *, worker: str, limit: int | None = None, wait: bool = False) -> dict[int, str]:
    """Claim the job and up to `limit - 1` compatible queued ones, render them in one pass, and
    finish each (media, complete) as its own attempt. Returns {job id: what happened}.

    wait=False (a gpu worker): the media of this batch goes to the process's MediaStage, which
    first waits for the previous batch's; the call returns once it is handed over (outcome
    "rendered"). wait=True: media in this thread (tests, eager tasks; a test's transaction is
    invisible to other threads), outcomes final.
    """
    from django.conf import settings

    limit = batch_limit(job_id) if limit is None else max(1, limit)
    claimed = jobs.generation_jobs_start_batch(job_id=job_id, worker=worker, limit=limit)
    if not claimed:
        return {}
    now = time.monotonic()
    slots = [_Slot(job=job, progress=_Progress(job), claimed_at=now) for job in claimed]
    heartbeat = _Heartbeat(
        {slot.job.pk: slot.attempt for slot in slots},
        every=max(0.5, settings.GENERATION_STALE_AFTER_S / 4),
        deadline_s=settings.GENERATION_TIME_LIMIT_S,
    ).start()
    if len(slots) > 1:
        logger.info("batch of %s: %s", len(slots), ", ".join(slot.job.public_id for slot in slots))
    try:
        _render(slots, heartbeat)
    except SoftTimeLimitExceeded:
        for slot in slots:
            if slot.outcome is None:
                jobs.generation_job_fail(
                    job_id=slot.job.pk,
                    attempt=slot.attempt,
                    code="timeout",
                    message="Rendering took longer than the time limit.",
                )
                _settled(slot, heartbeat, "failed: timeout")
    rendered = [slot for slot in slots if slot.outcome is None]
    outcomes = {slot.job.pk: slot.outcome for slot in slots if slot.outcome is not None}
    if not rendered:
        heartbeat.stop()
        return outcomes  # type: ignore[return-value]
    if wait:
        for slot in rendered:
            outcomes[slot.job.pk] = _finish(slot, heartbeat)
        heartbeat.stop()
        return outcomes  # type: ignore[return-value]
    media_stage().submit_batch([partial(_finish_in_thread, slot, heartbeat) for slot in rendered])
    for slot in rendered:
        outcomes[slot.job.pk] = "rendered"
    return outcomes  # type: ignore[return-value]


def _settled(slot: _Slot, heartbeat: _Heartbeat, outcome: str) -> str:
    slot.outcome = outcome
    heartbeat.done(slot.job.pk)
    worker_event(
        WorkerEvent(
            "job_finished",
            jobs=1,
            seconds=time.monotonic() - slot.claimed_at,
            backend=slot.job.backend,
            outcome=outcome.split(":", 1)[0],
        )
    )
    return outcome


def _render(slots: list[_Slot], heartbeat: _Heartbeat) -> None:
    """Build each job's request and render the ones that built in one backend call. A job that
    fails alone is settled alone; a backend error on a batch of several renders each job alone,
    so the error lands on the job that caused it (and a pass too big for memory still renders)."""
    live: list[_Slot] = []
    for slot in slots:
        try:
            slot.request = build_request(slot.job)
            live.append(slot)
        except Exception as exc:
            _settled(slot, heartbeat, _settle_error(slot, exc))
    if not live:
        return
    report = _BatchProgress(live, heartbeat)
    started = time.monotonic()
    try:
        backend = get_backend(live[0].job.backend)
        results = backend.render([slot.request for slot in live], progress=report)  # type: ignore[misc]
    except _AllStopped:
        return
    except SoftTimeLimitExceeded:
        raise
    except BackendError as error:
        if len(live) > 1:
            logger.warning("batch of %s failed (%s); rendering each job alone", len(live), error.code)
            for slot in live:
                if slot.outcome is None:
                    _render([slot], heartbeat)
            return
        _settled(live[0], heartbeat, _settle_error(live[0], error))
        return
    except Exception as exc:
        for slot in live:
            if slot.outcome is None:
                _settled(slot, heartbeat, _settle_error(slot, exc))
        return
    seconds = time.monotonic() - started
    worker_event(WorkerEvent("batch_rendered", jobs=len(live), seconds=seconds, backend=backend.name))
    for slot, result in zip(live, results, strict=True):
        if slot.outcome is None:
            slot.result = result
            logger.info(
                "job %s rendered by %s/%s in %.1fs (batch of %s)",
                slot.job.public_id,
                result.backend,
                result.model,
                seconds,
                len(live),
            )


class _BatchProgress:
    """The backend's progress(index, fraction) for a batch: each job's own bar (and beat). A job
    that moved on (cancelled, reaped) drops out of the batch; the pass stops only when every
    job has."""

    def __init__(self, slots: list[_Slot], heartbeat: _Heartbeat) -> None:
        self.slots = slots
        self.heartbeat = heartbeat

    def __call__(self, index: int, fraction: float) -> None:
        slot = self.slots[index]
        if slot.outcome is None:
            try:
                slot.progress(index, fraction * RENDER_SHARE)
            except jobs.JobNotRunnable as stopped:
                _settled(slot, self.heartbeat, f"stopped: job is {stopped}")
        if all(s.outcome is not None for s in self.slots):
            raise _AllStopped


def _finish_in_thread(slot: _Slot, heartbeat: _Heartbeat) -> str:
    from django.db import connection

    try:
        outcome = _finish(slot, heartbeat)
        logger.info("generation job %s: %s", slot.job.pk, outcome)
        return outcome
    finally:
        connection.close()  # a pool thread's connection: never left to go stale between batches


def _finish(slot: _Slot, heartbeat: _Heartbeat) -> str:
    """A rendered job's CPU stages and its completion (consent and restrictions re-checked, the
    draft made, credits settled: generation.jobs.generation_job_complete)."""
    job, request, result = slot.job, slot.request, slot.result
    assert request is not None and result is not None
    started = time.monotonic()
    try:
        slot.progress(0, RENDER_SHARE + 0.02, force=True)
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
        slot.progress(0, 0.99, force=True)
        worker_event(WorkerEvent("media_done", jobs=1, seconds=time.monotonic() - started, backend=job.backend))
        jobs.generation_job_complete(job_id=job.pk, attempt=slot.attempt, media=media)
        outcome = "succeeded"
    except Exception as exc:
        outcome = _settle_error(slot, exc)
    finally:
        slot.result = None  # the frames: free them now, not when the batch is forgotten
    return _settled(slot, heartbeat, outcome)


def _settle_error(slot: _Slot, exc: Exception) -> str:
    """What today's single-job attempt did with each failure, for one job of a batch."""
    job, attempt = slot.job, slot.attempt
    if isinstance(exc, jobs.JobNotRunnable):
        return f"stopped: job is {exc}"
    if isinstance(exc, BackendError):
        if exc.retry_after_s is not None:
            # Every server that could render it is busy or down: the job waits, it does not fail.
            jobs.generation_job_defer(job_id=job.pk, attempt=attempt, delay_s=exc.retry_after_s, reason=exc.message)
            return f"deferred {exc.retry_after_s:.0f}s: {exc.code}"
        if exc.retryable:
            jobs.generation_job_retry(job_id=job.pk, attempt=attempt, reason=exc.message)
            return f"retry: {exc.code}"
        jobs.generation_job_fail(job_id=job.pk, attempt=attempt, code=exc.code, message=exc.message)
        return f"failed: {exc.code}"
    if isinstance(exc, SoftTimeLimitExceeded):
        jobs.generation_job_fail(
            job_id=job.pk, attempt=attempt, code="timeout", message="Rendering took longer than the time limit."
        )
        return "failed: timeout"
    if outage_of(exc) is not None:
        # The database (or Redis) went away mid-job: not the job's fault. Queue another
        # attempt if the database answers again; if it does not, the job stays `running`
        # and the reaper requeues it once its heartbeat is stale.
        logger.warning("generation job %s: %s unreachable mid-job (%s)", job.public_id, outage_of(exc), exc)
        with contextlib.suppress(Exception):
            jobs.generation_job_retry(job_id=job.pk, attempt=attempt, reason="A service was briefly unreachable.")
        return f"interrupted: {outage_of(exc)} unreachable"
    # A bug, not the user's fault: fail this attempt cleanly (refunded) and log it.
    logger.exception("generation job %s crashed", job.public_id, exc_info=exc)
    with contextlib.suppress(Exception):
        jobs.generation_job_fail(
            job_id=job.pk, attempt=attempt, code="internal_error", message="Something went wrong while rendering."
        )
    return "failed: internal_error"


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


def _for_a_fleet_client(job: GenerationJob) -> bool:
    from sora_social.apikeys.selectors import api_key_output_unmarked

    return job.api_key is not None and api_key_output_unmarked(job.api_key)


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
    watermark = "" if _for_a_fleet_client(job) else watermark_label(job.user.handle)
    # Every output carries the mark, thumbnails too; never twice on the same frame. A render for
    # another instance (its fleet key) goes back unmarked: that instance marks it once, itself.
    new_part = frames[already_marked:]
    marked = np.concatenate(
        [frames[:already_marked], watermark_frames(new_part, fps, watermark) if watermark else new_part]
    )
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
