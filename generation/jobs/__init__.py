"""Generation jobs: submit, run-state transitions, finish, cancel, reap. One transaction each.

Every transition takes the job's row lock and checks the state it expects, so a task that
runs twice (a redelivered message, the reaper's retry racing a slow worker) can neither finish
a job twice nor charge or refund it twice. Side effects (enqueueing, websocket pushes) leave
only on commit.

One module a subject: `submit` (check and queue a request), `cameo_checks` (the cameos a
request names or inherits, the prompt policy and consent checks on them), `worker` (claim,
progress, heartbeat, complete, fail, retry, defer), `user_actions` (cancel, delete, a cameo's
permission narrowed, a video posted), `reaper` (dead workers, lost messages); what they share
(the row lock, the run message, the unsuccessful end) is in `_common`.

The public names are re-exported here: callers use `from generation import jobs`.
"""

from generation.jobs._common import JobNotRunnable
from generation.jobs.cameo_checks import InheritedCameo, check_cameo_use
from generation.jobs.reaper import ReapReport, generation_jobs_reap
from generation.jobs.submit import (
    MAX_PROMPT_CHARS,
    SECONDS_CHOICES,
    SubmitRequest,
    generation_job_submit,
    job_batch_key,
)
from generation.jobs.user_actions import (
    generation_job_cancel,
    generation_job_delete,
    generation_jobs_cancel_for_cameo,
    video_mark_posted,
)
from generation.jobs.worker import (
    RenderedMedia,
    generation_job_complete,
    generation_job_defer,
    generation_job_fail,
    generation_job_heartbeat,
    generation_job_progress,
    generation_job_retry,
    generation_job_start,
    generation_jobs_start_batch,
)

__all__ = [
    "MAX_PROMPT_CHARS",
    "SECONDS_CHOICES",
    "InheritedCameo",
    "JobNotRunnable",
    "ReapReport",
    "RenderedMedia",
    "SubmitRequest",
    "check_cameo_use",
    "generation_job_cancel",
    "generation_job_complete",
    "generation_job_defer",
    "generation_job_delete",
    "generation_job_fail",
    "generation_job_heartbeat",
    "generation_job_progress",
    "generation_job_retry",
    "generation_job_start",
    "generation_job_submit",
    "generation_jobs_cancel_for_cameo",
    "generation_jobs_reap",
    "generation_jobs_start_batch",
    "job_batch_key",
    "video_mark_posted",
]
