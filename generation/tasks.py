"""Thin Celery tasks for generation: fetch by id, call the pipeline or a service."""

from __future__ import annotations

import logging
import socket

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from generation import jobs, pipeline

logger = logging.getLogger(__name__)


@shared_task(
    name="generation.tasks.generation_job_run",
    bind=True,
    # Routed to the `gpu` queue by CELERY_TASK_ROUTES (and named explicitly where it is sent).
    # The message is acknowledged only when the task ends, and given back if the worker
    # process dies, so a crash never loses a job; the job's row lock makes a second run a no-op.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.GENERATION_SOFT_TIME_LIMIT_S,
    time_limit=settings.GENERATION_TIME_LIMIT_S,
)
def generation_job_run(self, job_id: int) -> str:
    """Render this job and up to GENERATION_BATCH_MAX - 1 compatible queued ones in one pass
    (generation.pipeline.run_batch). In a worker the call returns once the batch's media is
    handed to the process's media threads, so the next message's render overlaps it; run
    eagerly (tests, CELERY_TASK_ALWAYS_EAGER) it finishes every job first."""
    worker = f"{self.request.hostname or socket.gethostname()}:{self.request.id}"
    outcomes = pipeline.run_batch(job_id, worker=worker, wait=bool(self.request.is_eager))
    if not outcomes:
        outcome = "skipped: not queued"
    elif len(outcomes) == 1:
        outcome = next(iter(outcomes.values()))
    else:
        outcome = "batch of {}: {}".format(len(outcomes), ", ".join(f"{k}={v}" for k, v in outcomes.items()))
    logger.info("generation job %s: %s", job_id, outcome)
    return outcome


@shared_task(name="generation.tasks.generation_jobs_reap")
def generation_jobs_reap() -> dict[str, int]:
    report = jobs.generation_jobs_reap()
    if report.requeued or report.failed or report.resent:
        logger.warning("reaper: %s", report)
    return {"requeued": report.requeued, "failed": report.failed, "resent": report.resent}


@shared_task(name="generation.remote_video_delete", bind=True, max_retries=8)
def remote_video_delete_task(self, remote_ref: str) -> bool:
    """Sent through the outbox when a job rendered by a remote fleet is deleted (jobs/user_actions.py):
    delete the video there too. Retried with backoff while the fleet cannot answer."""
    from generation.backends.base import BackendError, get_backend

    try:
        return get_backend("remote").delete_remote(remote_ref)
    except BackendError as error:
        if not error.retryable:
            logger.warning("remote video %s not deleted: %s", remote_ref, error.message)
            return False
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries), exc=error) from error


@shared_task(name="generation.video_frames_index", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def video_frames_index_task(video_id: int) -> int:
    """Sent through the outbox when a video is created (generation.services); idempotent."""
    from generation.media_match import video_frames_index
    from generation.models import Video

    video = Video.objects.filter(pk=video_id).first()
    return video_frames_index(video=video) if video is not None else 0


@shared_task(name="generation.video_frames_backfill")
def video_frames_backfill_task(batch: int = 200) -> int:
    """Periodic: index what the on-commit task missed (sora_social/periodic.py)."""
    from generation.media_match import video_frames_backfill

    return video_frames_backfill(batch=batch)
