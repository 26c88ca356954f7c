"""A job ended or changed from outside the worker: its user cancels or deletes it, a cameo's
owner narrows who may use the cameo (its in-flight jobs are cancelled), a post shows its video."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from rest_framework import status

from generation import credits, ports
from generation.jobs._common import _locked
from generation.models import IN_FLIGHT_STATUSES, GenerationJob, JobStatus, Video, VideoRendition, VideoStatus
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.notifications.services import notify
from sora_social.outbox.services import outbox_send_on_commit
from sora_social.users.models import User


@transaction.atomic
def generation_job_cancel(*, job: GenerationJob, actor: User, reason: str = "cancelled") -> GenerationJob:
    """Cancel a queued or running job and refund it. A running render's result is discarded."""
    job = _locked(job.pk)
    if job.user_id != actor.pk:
        raise NotFound("generation_not_found", "No such generation.")
    if job.is_final:
        raise ApplicationError(
            "job_already_finished", f"This generation already {job.status}.", status_code=status.HTTP_409_CONFLICT
        )
    return _cancel(job, code="cancelled", message=reason)


def _cancel(job: GenerationJob, *, code: str, message: str) -> GenerationJob:
    job.status = JobStatus.CANCELLED
    job.error_code = code
    job.error_message = message[:500]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error_code", "error_message", "finished_at"])
    credits.credits_refund(job=job, note=code)
    return job


@transaction.atomic
def generation_jobs_cancel_for_cameo(*, cameo_id: int, still_allowed, reason: str) -> int:
    """The cameos port: a cameo's permission narrowed; cancel in-flight jobs of people no longer allowed."""
    jobs = list(
        GenerationJob.objects.select_for_update(of=("self",))
        .filter(status__in=IN_FLIGHT_STATUSES, job_cameos__cameo_id=cameo_id)
        .select_related("user")
    )
    cancelled = 0
    for job in jobs:
        if still_allowed(job.user_id):
            continue
        _cancel(job, code="cameo_permission_revoked", message=reason or "A cameo's owner withdrew permission.")
        notify(
            recipient=job.user,
            kind="generation_failed",
            data={
                "job_id": job.public_id,
                "status": job.status,
                "code": "cameo_permission_revoked",
                "message": "A cameo's owner changed who may use it; your video was cancelled and refunded.",
            },
        )
        ports.job_finished(job)  # webhooks: video.failed (not the user's own doing)
        cancelled += 1
    return cancelled


@transaction.atomic
def generation_job_delete(*, job: GenerationJob, actor: User) -> GenerationJob:
    """The Videos API's DELETE: cancel (and refund) if in flight, take the video down if finished,
    and mark the job deleted, so it is gone from every list and lookup (404 from then on).
    Deleting again is a no-op that answers the same (a retried DELETE must not fail)."""
    job = _locked(job.pk)
    if job.user_id != actor.pk:
        raise NotFound("video_not_found", "No such video.")
    if job.deleted_at is not None:
        return job
    if not job.is_final:
        # A render in progress on a remote fleet is deleted there by its worker, which stops at
        # its next poll (the job is no longer running).
        _cancel(job, code="deleted", message="Deleted by its creator.")
    elif job.result_video_id is not None and job.result_video.status != VideoStatus.TAKEN_DOWN:
        from generation.services import video_take_down

        video_take_down(video=job.result_video, reason="Deleted by its creator.")
        _delete_on_the_fleet(job)
    job.deleted_at = timezone.now()
    job.save(update_fields=["deleted_at"])
    return job


def _delete_on_the_fleet(job: GenerationJob) -> None:
    """The fleet that rendered it keeps the video and its prompt: ask it to delete them (a task,
    retried while the fleet cannot answer)."""
    rendition = VideoRendition.objects.filter(video_id=job.result_video_id).first()
    if rendition is not None and rendition.backend == "remote" and rendition.remote_video_id:
        outbox_send_on_commit(task="generation.remote_video_delete", args=[rendition.remote_video_id])


@transaction.atomic
def video_mark_posted(*, video: Video) -> None:
    """A post now shows this video: it stops being a draft. Feed calls this from post_create."""
    VideoRendition.objects.filter(video=video, posted_at__isnull=True).update(posted_at=timezone.now())
