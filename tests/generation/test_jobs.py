"""Submitting, cancelling and reaping generation jobs; every refusal code; idempotency; limits.

These tests stop at the queue (Celery runs eagerly off, so nothing renders): the render path
has its own tests with a real worker in tests/e2e/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cameos import services as cameo_services
from cameos.models import CameoAudience
from generation import credits, jobs
from generation.models import CreditEntry, GenerationJob, JobStatus
from tests.cameos.factories import CameoFactory, CharacterFactory
from tests.users.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db

URL = "/api/v1/generations"


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    """Keep submitted jobs queued: the rendering worker is exercised by the e2e tests."""
    sent: list[int] = []
    monkeypatch.setattr(
        "generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: sent.append((args[0], queue))
    )
    return sent


def submit(api, **body):
    body.setdefault("prompt", "a red ball drops and bounces twice")
    headers = {}
    if "key" in body:
        headers["HTTP_IDEMPOTENCY_KEY"] = body.pop("key")
    return api.post(URL, body, format="json", **headers)


def test_submit_queues_a_job_on_the_gpu_queue_and_reserves_credits(
    client_for, django_capture_on_commit_callbacks, _no_dispatch
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client_for(user), seconds=8, seed=42)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["seconds"] == 8 and body["seed"] == 42 and body["credits_cost"] == 2
    job = GenerationJob.objects.get(public_id=body["id"])
    assert _no_dispatch == [(job.pk, "gpu")]
    assert credits.credit_balance(user=user).free_used_today == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"prompt": "   "}, "invalid"),
        ({"seconds": 5}, "invalid_seconds"),
        ({"size": "640x480"}, "invalid_size"),
        ({"cameos": ["1", "2", "3"]}, "invalid"),
    ],
)
def test_bad_input_is_400(client_for, body, code):
    response = submit(client_for(UserFactory()), **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not GenerationJob.objects.exists() and not CreditEntry.objects.exists()


def test_prompt_policy_refuses_first(client_for):
    cameo = CameoFactory(audience=CameoAudience.ONLY_ME)
    # Both the prompt and the cameo are refusable: the prompt check comes first.
    response = submit(client_for(UserFactory()), prompt="a graphic beheading video", cameos=[str(cameo.pk)])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "prompt_blocked"
    assert not GenerationJob.objects.exists()


def test_likeness_guard_blocks_a_public_figure_without_their_cameo(client_for):
    response = submit(client_for(UserFactory()), prompt="Taylor Swift dancing in the rain")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "prompt_blocked"


def test_unknown_cameo_is_404(client_for):
    response = submit(client_for(UserFactory()), cameos=["@nobody_here"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "cameo_not_found"


def test_a_cameo_the_user_may_not_see_reads_as_not_found(client_for):
    cameo = CameoFactory(audience=CameoAudience.ONLY_ME)
    response = submit(client_for(UserFactory()), cameos=[str(cameo.pk)])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "cameo_not_found"


def test_a_visible_cameo_without_permission_is_403(client_for):
    owner, asker = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.APPROVED)
    response = submit(client_for(asker), prompt=f"@{owner.handle} surfing on the moon", cameos=[str(cameo.pk)])
    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert error["code"] == "cameo_permission_denied" and error["cameo_id"] == cameo.pk


def test_mutuals_may_use_a_cameo_by_at_handle_in_the_prompt(client_for):
    owner, friend = UserFactory(handle="surfer_sue"), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, name="surfer_sue", audience=CameoAudience.MUTUALS)
    response = submit(client_for(friend), prompt="@surfer_sue riding a huge wave")
    assert response.status_code == 201, response.json()
    assert [c["id"] for c in response.json()["cameos"]] == [cameo.pk]


def test_not_enough_credits_is_402_after_consent(client_for, settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 2
    response = submit(client_for(UserFactory()), seconds=12)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert not GenerationJob.objects.exists() and not CreditEntry.objects.exists()


def test_a_characters_fee_is_part_of_the_cost(client_for, settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 30
    character = CharacterFactory(licence__fee_credits=5)
    response = submit(client_for(UserFactory()), prompt="a hero flies through space", cameos=[str(character.pk)])
    assert response.status_code == 201, response.json()
    assert response.json()["credits_cost"] == 1 + 5


def test_the_in_flight_limit_is_429(client_for, settings):
    settings.GENERATION_MAX_IN_FLIGHT = 3
    api = client_for(UserFactory())
    for _ in range(3):
        assert submit(api).status_code == 201
    refused = submit(api)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_jobs_in_flight"
    assert GenerationJob.objects.count() == 3
    assert CreditEntry.objects.filter(kind="reserve").count() == 3


def test_same_idempotency_key_gives_one_job_and_one_charge(client_for):
    api = client_for(UserFactory())
    first = submit(api, key="tap-1", seed=3)
    again = submit(api, key="tap-1", seed=3)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert GenerationJob.objects.count() == 1
    assert CreditEntry.objects.filter(kind="reserve").count() == 1
    different = submit(api, key="tap-1", seed=4, prompt="something else entirely")
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_per_user(client_for):
    a, b = client_for(UserFactory()), client_for(UserFactory())
    assert submit(a, key="same").json()["id"] != submit(b, key="same").json()["id"]


def test_cancel_refunds_once_and_a_finished_job_cannot_be_cancelled(client_for):
    user = UserFactory()
    api = client_for(user)
    job_id = submit(api).json()["id"]
    cancelled = api.post(f"{URL}/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"{URL}/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_already_finished"
    job = GenerationJob.objects.get(public_id=job_id)
    assert CreditEntry.objects.filter(job=job, kind="refund").count() == 1
    assert credits.credit_balance(user=user).free_used_today == 0


def test_other_peoples_jobs_are_invisible(client_for):
    job_id = submit(client_for(UserFactory())).json()["id"]
    stranger = client_for(UserFactory())
    assert stranger.get(f"{URL}/{job_id}").status_code == 404
    assert stranger.post(f"{URL}/{job_id}/cancel").status_code == 404
    assert stranger.get(URL).json()["results"] == []


def test_revoking_a_cameo_cancels_queued_jobs_and_refunds_them(client_for):
    owner, friend = UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    job_id = submit(client_for(friend), cameos=[str(cameo.pk)]).json()["id"]

    change = cameo_services.cameo_revoke(cameo=cameo, actor=owner)

    job = GenerationJob.objects.get(public_id=job_id)
    assert change.cancelled_jobs == 1
    assert (job.status, job.error_code) == (JobStatus.CANCELLED, "cameo_permission_revoked")
    entries = {(e.kind, e.amount) for e in CreditEntry.objects.filter(job=job)}
    assert entries == {("reserve", -1), ("refund", 1)}


def test_a_worker_start_is_exactly_once():
    user = UserFactory()
    job, _ = jobs.generation_job_submit(user=user, request=jobs.SubmitRequest(prompt="a blue square slides left"))
    assert jobs.generation_job_start(job_id=job.pk, worker="w1") is not None
    assert jobs.generation_job_start(job_id=job.pk, worker="w2") is None  # a redelivered message
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (JobStatus.RUNNING, 1, "w1")


def test_a_stale_attempt_cannot_report_or_finish():
    user = UserFactory()
    job, _ = jobs.generation_job_submit(user=user, request=jobs.SubmitRequest(prompt="a blue square slides left"))
    jobs.generation_job_start(job_id=job.pk, worker="w1")
    with pytest.raises(jobs.JobNotRunnable):
        jobs.generation_job_progress(job_id=job.pk, attempt=2, percent=50)
    assert jobs.generation_job_fail(job_id=job.pk, attempt=2, code="x", message="y") is None
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_the_reaper_requeues_a_job_whose_worker_died_then_fails_it_after_max_attempts(settings, _no_dispatch):
    settings.GENERATION_MAX_ATTEMPTS = 2
    user = UserFactory()
    job, _ = jobs.generation_job_submit(user=user, request=jobs.SubmitRequest(prompt="a green ball rolls right"))
    stale = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_AFTER_S + 5)

    jobs.generation_job_start(job_id=job.pk, worker="w1")
    GenerationJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    assert jobs.generation_jobs_reap().requeued == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)

    jobs.generation_job_start(job_id=job.pk, worker="w2")
    GenerationJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    assert jobs.generation_jobs_reap().failed == 1
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "worker_lost")
    assert [e.kind for e in CreditEntry.objects.filter(job=job).order_by("id")] == ["reserve", "refund"]


def test_drafts_list_only_finished_unposted_videos(client_for):
    api = client_for(UserFactory())
    submit(api)
    assert api.get("/api/v1/drafts").json()["results"] == []
