"""Batched gpu workers: compatible jobs claimed together (SKIP LOCKED), rendered in one pass,
each finished as its own attempt (state machine, one charge, consent at completion, cancel).

The renders are real (the embedded model on CPU, batched on CPU for these tests); the one
fault-injecting backend wraps the real one and fails on a marked prompt.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from cameos import services as cameo_services
from cameos.models import CameoAudience
from generation import jobs, pipeline
from generation.backends import base
from generation.backends.base import BackendError
from generation.backends.diffusers_backend import DiffusersBackend
from generation.backends.embedded import EmbeddedBackend
from generation.models import CreditEntry, GenerationJob, JobStatus
from tests.cameos.factories import CameoFactory
from tests.users.factories import UserFactory, make_friends

SIZE = "720x1280"


@pytest.fixture(autouse=True)
def _queued_only(monkeypatch, settings):
    """Submitted jobs stay queued (the test runs the worker's side); one model on CPU, batched."""
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)
    settings.GENERATION_BACKEND = "embedded"
    settings.GENERATION_EMBEDDED_CPU_BATCH = True
    settings.GENERATION_MAX_IN_FLIGHT = 10
    base.reset_backends()
    yield
    base.reset_backends()


@pytest.fixture
def events():
    seen: list[pipeline.WorkerEvent] = []
    pipeline.WORKER_EVENT_LISTENERS.append(seen.append)
    yield seen
    pipeline.WORKER_EVENT_LISTENERS.remove(seen.append)


def _submit(user, prompt: str = "a red ball drops and bounces twice", **fields) -> GenerationJob:
    request = jobs.SubmitRequest(prompt=prompt, size=fields.pop("size", SIZE), seed=fields.pop("seed", 1), **fields)
    job, _ = jobs.generation_job_submit(user=user, request=request)
    return job


def _ledger(job: GenerationJob) -> list[str]:
    return [entry.kind for entry in CreditEntry.objects.filter(job=job).order_by("id")]


# --- which jobs go together ---------------------------------------------------------------


@pytest.mark.django_db
def test_jobs_of_one_backend_group_length_and_size_share_a_key_and_others_do_not():
    user = UserFactory()
    a = _submit(user, seconds=4)
    b = _submit(user, "a blue square slides to the left", seconds=4)
    longer = _submit(user, seconds=8)
    landscape = _submit(user, size="1280x720")
    assert a.batch_key == b.batch_key == "embedded:draw:4s:720x1280"
    assert len({a.batch_key, longer.batch_key, landscape.batch_key}) == 3
    embedded = EmbeddedBackend(device="cpu")
    assert embedded.batch_group(kind="extend", cameo_count=0, has_input_reference=False) == "extend"
    assert embedded.batch_group(kind="create", cameo_count=0, has_input_reference=True) == "extend"
    assert embedded.batch_group(kind="remix", cameo_count=1, has_input_reference=False) == "draw"
    # The diffusers backend batches text-to-video only (a start image or source video goes alone).
    diffusers = DiffusersBackend(model_dir="", steps=30)
    assert diffusers.batch_group(kind="create", cameo_count=0, has_input_reference=False) == "t2v-30steps"
    assert diffusers.batch_group(kind="create", cameo_count=1, has_input_reference=False) is None
    assert diffusers.batch_group(kind="remix", cameo_count=0, has_input_reference=False) is None


@pytest.mark.django_db
def test_a_claim_takes_the_job_and_the_oldest_compatible_queued_ones_up_to_the_limit():
    user = UserFactory()
    first, second, third = (_submit(user, f"a red ball drops {n}") for n in ("once", "twice", "again"))
    other = _submit(user, seconds=8)
    leader = _submit(user, "a green ball rolls to the right")

    claimed = jobs.generation_jobs_start_batch(job_id=leader.pk, worker="w1", limit=3)

    assert [job.pk for job in claimed] == [leader.pk, first.pk, second.pk]
    states = dict(GenerationJob.objects.values_list("pk", "status"))
    expected = ["running", "running", "queued", "queued", "running"]
    assert [states[j.pk] for j in (first, second, third, other, leader)] == expected
    assert {job.attempts for job in claimed} == {1}
    # The claimed jobs' own messages arrive later: nothing to do, exactly once.
    assert jobs.generation_jobs_start_batch(job_id=first.pk, worker="w2", limit=3) == []
    assert jobs.generation_job_start(job_id=second.pk, worker="w2") is None


@pytest.mark.django_db(transaction=True)
def test_a_claim_passes_over_a_job_another_transaction_holds_instead_of_waiting():
    user = UserFactory()
    held, free = _submit(user, "a red ball drops"), _submit(user, "a blue ball drops")
    leader = _submit(user, "a white ball drops")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                GenerationJob.objects.select_for_update().get(pk=held.pk)  # as a cancel would
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        claimed = jobs.generation_jobs_start_batch(job_id=leader.pk, worker="w1", limit=4)
        assert time.monotonic() - started < 5
        assert [job.pk for job in claimed] == [leader.pk, free.pk]
    finally:
        release.set()
        holder.join()
    assert GenerationJob.objects.get(pk=held.pk).status == JobStatus.QUEUED


# --- one pass, each job its own attempt ---------------------------------------------------


@pytest.mark.django_db
def test_a_batch_renders_in_one_pass_and_each_job_ends_on_its_own(events, settings):
    """Three jobs in one pass; while they render, one is cancelled by its owner and another's
    cameo is revoked: those end cancelled and refunded once, the third becomes a draft and is
    charged once."""
    owner, friend, other = UserFactory(), UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    kept = _submit(other, "a yellow ball is thrown to the right", seed=3)
    cancelled = _submit(other, "a purple box rises into the air", seed=4)
    revoked = _submit(friend, f"@{owner.handle} slides to the left", seed=5)
    assert kept.batch_key == cancelled.batch_key == revoked.batch_key

    def meanwhile(event: pipeline.WorkerEvent) -> None:
        if event.kind == "batch_rendered":
            jobs.generation_job_cancel(job=cancelled, actor=other)
            cameo_services.cameo_revoke(cameo=cameo, actor=owner)

    pipeline.WORKER_EVENT_LISTENERS.append(meanwhile)
    try:
        outcomes = pipeline.run_batch(kept.pk, worker="w1", limit=4, wait=True)
    finally:
        pipeline.WORKER_EVENT_LISTENERS.remove(meanwhile)

    assert [(e.kind, e.jobs) for e in events if e.kind == "batch_rendered"] == [("batch_rendered", 3)]
    assert outcomes[kept.pk] == "succeeded"
    assert outcomes[cancelled.pk].startswith("stopped") and outcomes[revoked.pk].startswith("stopped")
    rows = {job.pk: job for job in GenerationJob.objects.filter(pk__in=outcomes)}
    assert (rows[kept.pk].status, rows[kept.pk].progress) == (JobStatus.SUCCEEDED, 100)
    assert rows[kept.pk].result_video.rendition.c2pa_signed
    assert (rows[cancelled.pk].status, rows[cancelled.pk].error_code) == (JobStatus.CANCELLED, "cancelled")
    assert (rows[revoked.pk].status, rows[revoked.pk].error_code) == (JobStatus.CANCELLED, "cameo_permission_revoked")
    assert rows[revoked.pk].result_video is None
    assert _ledger(kept) == ["reserve", "settle"]
    assert _ledger(cancelled) == ["reserve", "refund"] == _ledger(revoked)
    finished = [e for e in events if e.kind == "job_finished"]
    assert sorted(e.outcome for e in finished) == ["stopped", "stopped", "succeeded"]


class _FailsOnMarkedPrompt:
    """The real embedded backend, with a fault: a request whose prompt says "unrenderable" fails."""

    name = "faulty"
    max_batch = 8

    def __init__(self) -> None:
        self.inner = EmbeddedBackend(device="cpu", batch_on_cpu=True)
        self.calls: list[int] = []

    def batch_group(self, **_: object) -> str:
        return "draw"

    def render(self, requests, progress):
        self.calls.append(len(requests))
        if any("unrenderable" in request.prompt for request in requests):
            raise BackendError("invalid_request", "The model refused this prompt.", retryable=False)
        return self.inner.render(requests, progress)


@pytest.mark.django_db
def test_a_backend_error_on_a_batch_is_found_by_rendering_each_job_alone(settings):
    settings.GENERATION_BACKEND = "faulty"
    faulty = base._backends["faulty"] = _FailsOnMarkedPrompt()
    user = UserFactory()
    good = _submit(user, "a red ball drops and bounces once")
    bad = _submit(user, "an unrenderable ball")
    assert good.batch_key == bad.batch_key == "faulty:draw:4s:720x1280"

    outcomes = pipeline.run_batch(good.pk, worker="w1", wait=True)

    assert faulty.calls == [2, 1, 1]  # the batch, then each job alone
    assert outcomes == {good.pk: "succeeded", bad.pk: "failed: invalid_request"}
    assert _ledger(good) == ["reserve", "settle"]
    assert _ledger(bad) == ["reserve", "refund"]


# --- the media stage beside the next render ----------------------------------------------


def test_the_media_stage_takes_a_batch_only_once_the_one_before_is_done():
    stage = pipeline.MediaStage(threads=2)
    gate = threading.Event()
    order: list[str] = []

    def slow(name: str) -> str:
        gate.wait(10)
        order.append(name)
        return name

    first = stage.submit_batch([lambda: slow("a1"), lambda: slow("a2")])
    handed: list[float] = []
    second = threading.Thread(
        target=lambda: (stage.submit_batch([lambda: order.append("b1") or "b1"]), handed.append(1))
    )
    second.start()
    time.sleep(0.3)
    assert handed == [] and order == []  # batch b waits while batch a's media runs
    gate.set()
    second.join(10)
    assert stage.drain(10)
    assert sorted(f.result() for f in first) == ["a1", "a2"] and order[-1] == "b1"


@pytest.mark.django_db(transaction=True)
def test_a_worker_hands_media_to_threads_and_every_job_still_finishes_once():
    user = UserFactory()
    queued = [_submit(user, f"a {colour} ball drops", seed=n) for n, colour in enumerate(("red", "blue"))]

    outcomes = pipeline.run_batch(queued[0].pk, worker="w1", limit=2, wait=False)
    assert outcomes == {queued[0].pk: "rendered", queued[1].pk: "rendered"}  # media goes on in threads
    assert pipeline.drain_media_stage(timeout=300)

    for job in GenerationJob.objects.filter(pk__in=[j.pk for j in queued]):
        assert (job.status, job.attempts, job.progress) == (JobStatus.SUCCEEDED, 1, 100), job.error_message
        assert job.result_video.rendition.c2pa_signed
        assert _ledger(job) == ["reserve", "settle"]
