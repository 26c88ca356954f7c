"""Consent after the fact: narrowing and revoking cancel queued jobs, owners remove appearances.

Generation's jobs live above cameos, so these tests register real handlers through the public
port API (`cameos.ports`) over an in-test job queue and video store. Generation's own
end-to-end test (revocation while a job is queued cancels that job and refunds it) can reuse
`revocation_with_a_queued_job` with its real job submission and its registered canceller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from cameos import ports, services
from cameos.models import CameoAccessEntry, CameoAppearance, CameoAudience, CameoStatus
from cameos.selectors import can_use_cameo
from sora_social.common.errors import ApplicationError
from sora_social.notifications.models import Notification
from tests.cameos.factories import AccessEntryFactory, AppearanceFactory, CameoFactory
from tests.users.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


@dataclass
class Job:
    id: int
    user_id: int
    cameo_id: int
    status: str = "queued"
    refunded: bool = False
    cancel_reason: str = ""


@dataclass
class JobQueue:
    """A stand-in for generation's queue with a real canceller: cancel + refund the jobs of
    users the predicate no longer allows, exactly once."""

    jobs: list[Job] = field(default_factory=list)

    def submit(self, user, cameo) -> Job:
        assert can_use_cameo(user, cameo).allowed  # generation checks consent at submit
        job = Job(id=len(self.jobs) + 1, user_id=user.pk, cameo_id=cameo.pk)
        self.jobs.append(job)
        return job

    def cancel_jobs_featuring(self, *, cameo_id: int, still_allowed: Callable[[int], bool], reason: str) -> int:
        cancelled = 0
        for job in self.jobs:
            if job.cameo_id == cameo_id and job.status == "queued" and not still_allowed(job.user_id):
                job.status, job.refunded, job.cancel_reason = "cancelled", True, reason
                cancelled += 1
        return cancelled


@dataclass
class VideoStore:
    taken_down: dict[int, dict] = field(default_factory=dict)

    def take_down(self, *, video_id: int, cameo_id: int, creator_id: int, reason: str, actor_id: int) -> None:
        self.taken_down[video_id] = {"cameo_id": cameo_id, "creator_id": creator_id, "reason": reason, "by": actor_id}


@pytest.fixture
def queue():
    queue = JobQueue()
    with ports.registered(job_canceller=queue.cancel_jobs_featuring):
        yield queue


@pytest.fixture
def videos():
    store = VideoStore()
    with ports.registered(video_takedown=store.take_down):
        yield store


def revocation_with_a_queued_job(queue_job: Callable, *, take_down_existing: bool = False):
    """Ava's cameo is open to everyone; Ben (a friend) queues a job featuring it; Ava revokes.
    Returns (cameo, ben, ben's job, the consent change). Generation's e2e test passes its own
    `queue_job(user, cameo)` and then checks the job is cancelled and its credits refunded."""
    ava, ben = UserFactory(handle="ava_c"), UserFactory(handle="ben_c")
    make_friends(ava, ben)
    cameo = CameoFactory(owner=ava, audience=CameoAudience.EVERYONE)
    job = queue_job(ben, cameo)
    change = services.cameo_revoke(cameo=cameo, actor=ava, take_down_existing=take_down_existing)
    return cameo, ben, job, change


def test_revocation_while_a_job_is_queued_cancels_and_refunds_it(queue):
    _, ben, job, change = revocation_with_a_queued_job(queue.submit)
    assert (job.status, job.refunded) == ("cancelled", True)
    assert "withdrew permission" in job.cancel_reason
    assert change.cancelled_jobs == 1
    assert change.cameo.audience == CameoAudience.ONLY_ME and change.cameo.revoked_at is not None
    assert not can_use_cameo(ben, change.cameo).allowed


def test_revoking_keeps_the_owners_own_jobs_and_deny_entries(queue):
    owner, friend = UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    denied = UserFactory()
    AccessEntryFactory(cameo=cameo, user=denied, effect="deny")
    AccessEntryFactory(cameo=cameo, user=UserFactory(), effect="allow")
    own, friends = queue.submit(owner, cameo), queue.submit(friend, cameo)

    services.cameo_revoke(cameo=cameo, actor=owner)

    assert (own.status, friends.status) == ("queued", "cancelled")
    assert list(CameoAccessEntry.objects.filter(cameo=cameo).values_list("effect", flat=True)) == ["deny"]
    assert can_use_cameo(owner, cameo).allowed


def test_narrowing_to_mutuals_cancels_only_the_jobs_of_people_no_longer_allowed(queue):
    owner, friend, stranger, listed = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    AccessEntryFactory(cameo=cameo, user=listed)
    jobs = {u.handle: queue.submit(u, cameo) for u in (friend, stranger, listed)}
    other_cameo_job = queue.submit(stranger, CameoFactory(audience=CameoAudience.EVERYONE))

    change = services.cameo_update(cameo=cameo, actor=owner, audience=CameoAudience.MUTUALS)

    assert change.cancelled_jobs == 1
    assert {h: j.status for h, j in jobs.items()} == {
        friend.handle: "queued",
        stranger.handle: "cancelled",
        listed.handle: "queued",
    }
    assert other_cameo_job.status == "queued"


def test_widening_or_editing_text_cancels_nothing(queue):
    owner, stranger = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    job = queue.submit(stranger, cameo)
    services.cameo_update(cameo=cameo, actor=owner, instructions="Always wearing a hat.")
    services.cameo_update(cameo=cameo, actor=owner, audience=CameoAudience.EVERYONE)
    assert job.status == "queued"


def test_a_deny_entry_cancels_that_persons_jobs(queue):
    owner, a, b = UserFactory(), UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    job_a, job_b = queue.submit(a, cameo), queue.submit(b, cameo)
    _, change = services.cameo_access_set(cameo=cameo, actor=owner, user=a, effect="deny")
    assert (job_a.status, job_b.status, change.cancelled_jobs) == ("cancelled", "queued", 1)


def test_removing_an_allow_entry_cancels_when_that_was_their_only_way_in(queue):
    owner, listed = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.ONLY_ME)
    AccessEntryFactory(cameo=cameo, user=listed)
    job = queue.submit(listed, cameo)
    services.cameo_access_remove(cameo=cameo, actor=owner, user=listed)
    assert job.status == "cancelled"


def test_deleting_a_cameo_cancels_every_job_the_owners_too(queue):
    owner, friend = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    jobs = [queue.submit(owner, cameo), queue.submit(friend, cameo)]
    change = services.cameo_delete(cameo=cameo, actor=owner)
    assert [j.status for j in jobs] == ["cancelled", "cancelled"]
    assert change.cameo.status == CameoStatus.REVOKED


def test_take_down_existing_removes_videos_of_people_no_longer_allowed(queue, videos):
    owner, friend, stranger = UserFactory(), UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    kept = AppearanceFactory(cameo=cameo, creator=friend)
    gone = AppearanceFactory(cameo=cameo, creator=stranger)
    own = AppearanceFactory(cameo=cameo, creator=owner)

    change = services.cameo_update(cameo=cameo, actor=owner, audience=CameoAudience.MUTUALS, take_down_existing=True)

    assert change.taken_down == 1
    assert set(videos.taken_down) == {gone.video_id}
    statuses = dict(CameoAppearance.objects.filter(cameo=cameo).values_list("pk", "status"))
    assert statuses == {kept.pk: "active", gone.pk: "removed", own.pk: "active"}
    told = Notification.objects.get(recipient=stranger, kind="cameo_appearance_removed")
    assert "changed who may use it" in told.data["reason"]


def test_without_take_down_existing_videos_stay(queue, videos):
    owner, stranger = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    appearance = AppearanceFactory(cameo=cameo, creator=stranger)
    services.cameo_revoke(cameo=cameo, actor=owner)
    appearance.refresh_from_db()
    assert appearance.status == "active" and videos.taken_down == {}


def test_revoke_with_take_down_existing_removes_others_videos(queue, videos):
    cameo, ben, _, change = revocation_with_a_queued_job(queue.submit, take_down_existing=False)
    appearance = AppearanceFactory(cameo=cameo, creator=ben)
    change = services.cameo_revoke(cameo=cameo, actor=cameo.owner, take_down_existing=True)
    assert change.taken_down == 1 and appearance.video_id in videos.taken_down


def test_a_failing_handler_rolls_the_consent_change_back():
    owner = UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)

    def broken(**kwargs):
        raise RuntimeError("generation is down")

    with ports.registered(job_canceller=broken), pytest.raises(RuntimeError):
        services.cameo_update(cameo=cameo, actor=owner, audience=CameoAudience.ONLY_ME)
    cameo.refresh_from_db()
    assert cameo.audience == CameoAudience.EVERYONE


# --- appearances -------------------------------------------------------------------------------


def test_the_owner_removes_another_users_draft_that_features_them(videos):
    owner, creator = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    draft = services.appearance_record(cameo=cameo, creator=creator, video_id=501, job_id=77)

    removed = services.appearance_remove(
        appearance_id=draft.pk, cameo=cameo, actor=owner, reason="I don't want to be in this one."
    )

    assert removed.status == "removed" and removed.removed_by == owner
    assert videos.taken_down[501] == {
        "cameo_id": cameo.pk,
        "creator_id": creator.pk,
        "reason": "I don't want to be in this one.",
        "by": owner.pk,
    }
    told = Notification.objects.get(recipient=creator, kind="cameo_appearance_removed")
    assert told.data["reason"] == "I don't want to be in this one." and told.data["video_id"] == 501
    assert "I don't want to be in this one." in told.text
    # Removing again changes nothing; recording the video again cannot bring it back.
    assert services.appearance_remove(appearance_id=draft.pk, cameo=cameo, actor=owner).status == "removed"
    with pytest.raises(ApplicationError) as refusal:
        services.appearance_record(cameo=cameo, creator=creator, video_id=501)
    assert refusal.value.code == "appearance_removed"


def test_only_the_owner_removes_appearances(videos):
    cameo = CameoFactory(audience=CameoAudience.EVERYONE)
    creator = UserFactory()
    draft = services.appearance_record(cameo=cameo, creator=creator, video_id=9)
    for intruder in (creator, UserFactory(), UserFactory(is_staff=True)):
        with pytest.raises(ApplicationError) as refusal:
            services.appearance_remove(appearance_id=draft.pk, cameo=cameo, actor=intruder)
        assert refusal.value.code == "cameo_not_found"
    assert videos.taken_down == {}


def test_recording_an_appearance_tells_the_owner_once_and_needs_consent():
    owner, friend, stranger = UserFactory(), UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    first = services.appearance_record(cameo=cameo, creator=friend, video_id=1, job_id=5)
    again = services.appearance_record(cameo=cameo, creator=friend, video_id=1)
    assert first.pk == again.pk
    used = Notification.objects.filter(recipient=owner, kind="cameo_used")
    assert used.count() == 1 and used[0].data["video_id"] == 1 and used[0].target_id == 1
    with pytest.raises(ApplicationError) as refusal:
        services.appearance_record(cameo=cameo, creator=stranger, video_id=2)
    assert (refusal.value.code, refusal.value.extra["reason_code"]) == ("cameo_permission_denied", "not_mutuals")
    # The owner's own videos are recorded without telling them about themselves.
    services.appearance_record(cameo=cameo, creator=owner, video_id=3)
    assert used.count() == 1
