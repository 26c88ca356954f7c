"""What the job modules share: the exception a taken-away attempt raises, the job's row lock,
the run message sent on commit, and the unsuccessful end of a run (the worker's and the reaper's)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from generation import credits, ports
from generation.models import GenerationJob
from sora_social.notifications.services import notify
from sora_social.outbox.services import outbox_send_on_commit


class JobNotRunnable(Exception):
    """The job is no longer this attempt's to work on (cancelled, reaped, finished)."""


def _locked(job_id: int) -> GenerationJob:
    return GenerationJob.objects.select_for_update().get(pk=job_id)


def _enqueue_on_commit(job: GenerationJob, *, countdown_s: float = 0) -> None:
    """The job's run message, through the outbox: it commits with the job (and its credit
    reservation), is published right after commit, and if the broker is down then, by the
    relay once it is back. A submit during a broker outage is a 201 that runs later.
    `countdown_s`: run it no sooner than that (a deferred job)."""
    GenerationJob.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() + timedelta(seconds=countdown_s))
    outbox_send_on_commit(
        task="generation.tasks.generation_job_run", args=[job.pk], queue="gpu", countdown_s=round(countdown_s)
    )


def _finish_unsuccessfully(job: GenerationJob, final_status: str, code: str, message: str) -> GenerationJob:
    now = timezone.now()
    job.status = final_status
    job.error_code = code
    job.error_message = message[:500]
    job.finished_at = now
    job.save(update_fields=["status", "error_code", "error_message", "finished_at", "policy"])
    credits.credits_refund(job=job, note=code)
    kind = "generation_failed"
    notify(
        recipient=job.user,
        kind=kind,
        data={"job_id": job.public_id, "status": final_status, "code": code, "message": message},
    )
    ports.job_finished(job)  # webhooks: video.failed
    return job
