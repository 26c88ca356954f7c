"""The worker's side: claim queued jobs (one or a batch), report progress and heartbeats, and
finish a render: complete (consent and restrictions re-checked, draft made, credits settled),
fail, retry or defer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from cameos.models import CameoKind
from cameos.selectors import can_use_cameo
from generation import credits, ports
from generation.jobs._common import JobNotRunnable, _enqueue_on_commit, _finish_unsuccessfully, _locked
from generation.jobs.cameo_checks import _inherited_cameos, _policy_subjects
from generation.models import (
    GenerationJob,
    GenerationJobCameo,
    JobStatus,
    LineageVia,
    Video,
    VideoRendition,
    VideoSource,
)
from sora_social.notifications.services import notify


@transaction.atomic
def generation_job_start(*, job_id: int, worker: str) -> GenerationJob | None:
    """queued → running for this attempt; None if the job is not queued (a duplicate delivery)."""
    job = _locked(job_id)
    if job.status != JobStatus.QUEUED:
        return None
    _mark_running(job, worker)
    return job


@transaction.atomic
def generation_jobs_start_batch(*, job_id: int, worker: str, limit: int) -> list[GenerationJob]:
    """queued → running for the job a message is about and up to `limit - 1` more queued jobs
    of its batch key (oldest first), each as its own attempt. [] if the job is not queued (a
    duplicate delivery).

    The others are claimed with SELECT ... FOR UPDATE SKIP LOCKED: a row another worker or a
    cancel holds is passed over, never waited for, so two workers never claim one job and a
    claim never deadlocks with a cancel. Their own messages, delivered later, find them running
    and are skipped; the reaper covers them like any running job.
    """
    leader = _locked(job_id)
    if leader.status != JobStatus.QUEUED:
        return []
    claimed = [leader]
    if leader.batch_key and limit > 1:
        claimed += list(
            GenerationJob.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.QUEUED, batch_key=leader.batch_key)
            .exclude(pk=leader.pk)
            .order_by("created_at", "pk")[: limit - 1]
        )
    for job in claimed:
        _mark_running(job, worker)
    return claimed


def _mark_running(job: GenerationJob, worker: str) -> None:
    now = timezone.now()
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.worker = worker[:200]
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.progress = 0
    job.save(update_fields=["status", "attempts", "worker", "started_at", "heartbeat_at", "progress"])
    _push_progress(job)


@transaction.atomic
def generation_job_progress(*, job_id: int, attempt: int, percent: int) -> None:
    """Record progress (and a heartbeat). Raises JobNotRunnable if the job was taken away."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        raise JobNotRunnable(job.status)
    percent = max(job.progress, min(99, int(percent)))
    job.progress = percent
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["progress", "heartbeat_at"])
    _push_progress(job)


def generation_job_heartbeat(*, job_id: int, attempt: int) -> bool:
    """This attempt is alive (a worker's heartbeat thread). False once the job has moved on.
    One conditional UPDATE, no row lock: it must never wait behind a transition."""
    return bool(
        GenerationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
    )


def _push_progress(job: GenerationJob) -> None:
    notify(
        recipient=job.user,
        kind="generation_progress",
        data={"job_id": job.public_id, "progress": job.progress, "status": job.status},
        persist=False,
    )


@dataclass
class RenderedMedia:
    mp4: bytes
    thumbnail_jpeg: bytes
    spritesheet_jpeg: bytes
    backend: str
    model: str
    watermark_text: str
    c2pa_signed: bool
    c2pa_manifest_label: str
    media_policy: dict[str, Any]
    media_blocked: bool
    remote_id: str = ""


def _inherit_late_cameos(job: GenerationJob) -> None:
    """A source can come to show more cameos after submit (an upload posted with a cameo, a
    matched re-upload): the result shows them too, so they join the job before the re-check."""
    inherited = _inherited_cameos(
        [job.source_video, job.reference_video], named=[link.cameo for link in job.job_cameos.select_related("cameo")]
    )
    if not inherited:
        return
    start = job.job_cameos.count()
    GenerationJobCameo.objects.bulk_create(
        [
            GenerationJobCameo(job=job, cameo=link.cameo, position=start + i, inherited=True, via_video=link.via_video)
            for i, link in enumerate(inherited)
        ],
        ignore_conflicts=True,
    )


def _consent_still_given(job: GenerationJob) -> tuple[bool, str]:
    for link in job.job_cameos.select_related("cameo__owner"):
        decision = can_use_cameo(job.user, link.cameo)
        if not decision.allowed:
            return False, f"{link.cameo.display_name or link.cameo.name}: {decision.reason}"
    return True, ""


def _restrictions_still_kept(job: GenerationJob) -> tuple[bool, str]:
    """The owners' restrictions now (one may have added "no political" while the job queued),
    for every cameo the video shows."""
    from moderation.policy.services import cameo_restrictions_check

    cameos = [link.cameo for link in job.job_cameos.select_related("cameo__owner")]
    if not cameos:
        return True, ""
    verdict = cameo_restrictions_check(job.prompt, _policy_subjects(cameos))
    if verdict.blocked:
        return False, "; ".join(verdict.reasons[:2]) or "a cameo's owner does not allow this"
    return True, ""


@transaction.atomic
def generation_job_complete(*, job_id: int, attempt: int, media: RenderedMedia) -> GenerationJob:
    """Finish a rendered job: consent re-checked, media policy applied, draft made, credits settled.

    If consent was withdrawn meanwhile or the media check blocks, the result is discarded,
    the job is `blocked` and its credits refunded.
    """
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        raise JobNotRunnable(job.status)
    _inherit_late_cameos(job)
    consent_ok, why = _consent_still_given(job)
    if not consent_ok:
        return _finish_unsuccessfully(
            job, JobStatus.BLOCKED, "cameo_permission_revoked", f"A cameo's permission changed while rendering ({why})."
        )
    restrictions_ok, why = _restrictions_still_kept(job)
    if not restrictions_ok:
        return _finish_unsuccessfully(
            job, JobStatus.BLOCKED, "cameo_restriction", f"A cameo's owner does not allow this ({why})."
        )
    if media.media_blocked:
        reasons = "; ".join(media.media_policy.get("reasons", [])[:2]) or "the result broke the content policy"
        job.policy = {**job.policy, "media": media.media_policy}
        return _finish_unsuccessfully(job, JobStatus.BLOCKED, "media_blocked", f"The video was blocked: {reasons}.")

    from generation.services import video_create_from_bytes

    video = video_create_from_bytes(user=job.user, data=media.mp4, source=VideoSource.GENERATED)
    video.thumbnail.save("thumbnail.jpg", ContentFile(media.thumbnail_jpeg), save=True)
    rendition = VideoRendition(
        video=video,
        c2pa_signed=media.c2pa_signed,
        c2pa_manifest_label=media.c2pa_manifest_label[:200],
        watermark_text=media.watermark_text[:120],
        backend=media.backend,
        model=media.model,
        media_policy=media.media_policy,
        remote_video_id=media.remote_id[:200],
    )
    rendition.spritesheet.save("spritesheet.jpg", ContentFile(media.spritesheet_jpeg), save=False)
    rendition.save()

    now = timezone.now()
    job.status = JobStatus.SUCCEEDED
    job.progress = 100
    job.result_video = video
    job.finished_at = now
    job.heartbeat_at = now
    job.model = media.model or job.model
    job.policy = {**job.policy, "media": media.media_policy}
    job.save(update_fields=["status", "progress", "result_video", "finished_at", "heartbeat_at", "model", "policy"])
    credits.credits_settle(job=job)
    _record_cameo_use(job, video)
    _ask_for_review_if_flagged(job, video)
    notify(
        recipient=job.user,
        kind="generation_completed",
        data={"job_id": job.public_id, "video_id": video.pk, "status": "succeeded"},
        target=("video", video.pk),
    )
    ports.job_finished(job)  # webhooks: video.completed
    return job


def _ask_for_review_if_flagged(job: GenerationJob, video: Video) -> None:
    """A layer said "review" (prompt or media): hand it to whoever handles reviews (moderation)."""
    flagged = {
        name: verdict
        for name, verdict in (job.policy or {}).items()
        if isinstance(verdict, dict) and verdict.get("decision") == "review"
    }
    if not flagged:
        return
    for handler in ports.policy_review_handlers():
        handler(video_id=video.pk, creator_id=job.user_id, job_id=job.pk, policy=flagged)


def _record_cameo_use(job: GenerationJob, video: Video) -> None:
    """Appearances for every cameo the draft shows (inherited ones point at the video they came
    from, so the owner sees the derivative and removing the source removes it), royalties for
    characters, and the lineage rows."""
    from cameos.services import appearance_record, royalty_charge
    from generation.services import lineage_record

    for link in job.job_cameos.select_related("cameo__owner"):
        appearance_record(
            cameo=link.cameo,
            creator=job.user,
            video_id=video.pk,
            job_id=job.pk,
            via_video_id=link.via_video_id if link.inherited else None,
        )
        if link.cameo.kind == CameoKind.CHARACTER:
            royalty_charge(job_id=job.pk, cameo=link.cameo, creator=job.user, video_id=video.pk)
    if job.source_video_id is not None:
        lineage_record(video=video, source_video=job.source_video, via=job.kind)
    if job.reference_video_id is not None:
        lineage_record(video=video, source_video=job.reference_video, via=LineageVia.INPUT_REFERENCE)


@transaction.atomic
def generation_job_fail(*, job_id: int, attempt: int | None, code: str, message: str) -> GenerationJob | None:
    """The render failed for good: failed, refunded once. None if the job had moved on."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or (attempt is not None and job.attempts != attempt):
        return None
    return _finish_unsuccessfully(job, JobStatus.FAILED, code, message)


@transaction.atomic
def generation_job_retry(*, job_id: int, attempt: int, reason: str) -> GenerationJob | None:
    """A retryable failure: back to queued (another attempt), or failed if attempts are used up."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        return None
    if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
        return _finish_unsuccessfully(job, JobStatus.FAILED, "render_failed", reason)
    job.status = JobStatus.QUEUED
    job.progress = 0
    job.worker = ""
    job.error_message = reason[:500]
    job.save(update_fields=["status", "progress", "worker", "error_message"])
    _enqueue_on_commit(job)
    return job


@transaction.atomic
def generation_job_defer(*, job_id: int, attempt: int, delay_s: float, reason: str) -> GenerationJob | None:
    """Every server that could render the job is busy or down (a fleet's 429 or 5xx): back to
    queued, run again in `delay_s` (the fleet's Retry-After or the backoff), and the attempt is
    given back, since nothing was tried. A job kept waiting past GENERATION_REMOTE_MAX_WAIT_S
    fails (refunded). None if the job had moved on."""
    job = _locked(job_id)
    if job.status != JobStatus.RUNNING or job.attempts != attempt:
        return None
    if timezone.now() - job.created_at > timedelta(seconds=settings.GENERATION_REMOTE_MAX_WAIT_S):
        return _finish_unsuccessfully(job, JobStatus.FAILED, "generation_unavailable", reason)
    job.status = JobStatus.QUEUED
    job.attempts -= 1
    job.progress = 0
    job.worker = ""
    job.error_message = reason[:500]
    job.save(update_fields=["status", "attempts", "progress", "worker", "error_message"])
    _enqueue_on_commit(job, countdown_s=delay_s)
    return job
