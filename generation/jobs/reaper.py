"""The reaper: jobs whose worker died are retried or failed, and lost run messages resent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from generation.jobs._common import _enqueue_on_commit, _finish_unsuccessfully
from generation.models import GenerationJob, JobStatus

logger = logging.getLogger(__name__)


@dataclass
class ReapReport:
    requeued: int = 0
    failed: int = 0
    resent: int = 0


@transaction.atomic
def generation_jobs_reap() -> ReapReport:
    """Find jobs whose worker died (stale heartbeat) and retry or fail them; resend lost messages."""
    now = timezone.now()
    report = ReapReport()
    stale = GenerationJob.objects.select_for_update(skip_locked=True).filter(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.GENERATION_STALE_AFTER_S)
    )
    for job in stale:
        if job.attempts >= settings.GENERATION_MAX_ATTEMPTS:
            _finish_unsuccessfully(
                job, JobStatus.FAILED, "worker_lost", "The worker rendering this video stopped, too many times."
            )
            report.failed += 1
            continue
        logger.warning(
            "job %s: worker %s stopped answering; queueing attempt %s", job.public_id, job.worker, job.attempts + 1
        )
        job.status = JobStatus.QUEUED
        job.progress = 0
        job.worker = ""
        job.error_message = "The worker stopped; trying again."
        job.save(update_fields=["status", "progress", "worker", "error_message"])
        _enqueue_on_commit(job)
        report.requeued += 1
    lost = GenerationJob.objects.select_for_update(skip_locked=True).filter(
        Q(enqueued_at__lt=now - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_S)) | Q(enqueued_at__isnull=True),
        status=JobStatus.QUEUED,
        created_at__lt=now - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_S),
    )
    for job in lost:
        _enqueue_on_commit(job)
        report.resent += 1
    return report
