"""Cameo lineage beyond the matrix: take-downs reach derivatives at every depth, inherited cameos
and the cameo limit, late inheritance, and `video_lineage_link` for media recognised after the
fact. Same in-process worker as the matrix (tests/security/test_consent_matrix.py)."""

from __future__ import annotations

import pytest

from cameos import services as cameo_services
from cameos.models import CameoAppearance, CameoAudience
from feed.models import Post
from feed.services import post_create
from generation.models import GenerationJob, JobStatus, Video, VideoLineage, VideoSource, VideoStatus
from generation.services import video_create_from_bytes, video_lineage_link
from sora_social.common.errors import ApplicationError
from sora_social.notifications.models import Notification
from tests.cameos.factories import CameoFactory
from tests.security.test_consent_matrix import PROMPT, _mp4, render
from tests.users.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


def generate(api, body: dict) -> GenerationJob:
    response = api.post("/api/v1/generations", body, format="json")
    assert response.status_code == 201, response.json()
    job = render(GenerationJob.objects.get(public_id=response.json()["id"]))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    return job


def openai(api, url: str, body: dict) -> GenerationJob:
    response = api.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    job = render(GenerationJob.objects.get(public_id=response.json()["id"]))
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    return job


@pytest.fixture
def chain(client_for):
    """O's mutuals-only cameo; X (a mutual) makes V1 naming it, remixes it (V2), extends that
    (V3) and edits that (V4); F (another mutual) remixes X's post of V2 (V5). X also has V0, a
    video without the cameo."""
    owner, attacker, friend = UserFactory(), UserFactory(), UserFactory()
    make_friends(owner, attacker)
    make_friends(owner, friend)
    make_friends(attacker, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    x, f = client_for(attacker), client_for(friend)
    v0 = generate(x, {"prompt": PROMPT})
    v1 = generate(x, {"prompt": PROMPT, "cameos": [str(cameo.pk)]})
    v2 = openai(x, f"/v1/videos/{v1.public_id}/remix", {"prompt": PROMPT})
    v3 = openai(x, "/v1/videos/extensions", {"prompt": PROMPT, "seconds": "4", "video": {"id": v2.public_id}})
    v4 = openai(x, "/v1/videos/edits", {"prompt": PROMPT, "video": {"id": v3.public_id}})
    post = x.post("/api/v1/posts", {"video_id": v2.result_video_id, "visibility": "public"}, format="json")
    assert post.status_code == 201, post.json()
    v5 = generate(f, {"prompt": PROMPT, "remix_of": post.json()["id"]})
    jobs = {"v0": v0, "v1": v1, "v2": v2, "v3": v3, "v4": v4, "v5": v5}
    return owner, attacker, friend, cameo, {name: job.result_video_id for name, job in jobs.items()}, client_for


def _status(video_id: int) -> str:
    return Video.objects.get(pk=video_id).status


def test_every_derivative_is_an_appearance_the_owner_sees(chain):
    owner, _, _, cameo, videos, client_for = chain
    rows = {a.video_id: a for a in CameoAppearance.objects.filter(cameo=cameo)}
    assert set(rows) == {videos[v] for v in ("v1", "v2", "v3", "v4", "v5")}
    assert rows[videos["v1"]].via_video_id is None
    assert [rows[videos[v]].via_video_id for v in ("v2", "v3", "v4", "v5")] == [
        videos["v1"],
        videos["v2"],
        videos["v3"],
        videos["v2"],
    ]
    listed = client_for(owner).get(f"/api/v1/cameos/{cameo.pk}/appearances").json()["results"]
    assert {row["video_id"]: row["via_video_id"] for row in listed} == {v: a.via_video_id for v, a in rows.items()}
    told = Notification.objects.filter(recipient=owner, kind="cameo_used").values_list("data__video_id", flat=True)
    assert set(rows) <= set(told)
    assert VideoLineage.objects.get(video_id=videos["v4"]).source_video_id == videos["v3"]


@pytest.mark.parametrize("narrowing", ["revoke", "deny_list", "delete"])
def test_narrowing_with_take_down_removes_derivatives_at_every_depth(chain, narrowing):
    owner, attacker, friend, cameo, videos, client_for = chain
    if narrowing == "revoke":
        change = cameo_services.cameo_revoke(cameo=cameo, actor=owner, take_down_existing=True)
    elif narrowing == "deny_list":
        # Only X is denied; F's remix V5 was made from X's V2, so it goes with it.
        _, change = cameo_services.cameo_access_set(
            cameo=cameo, actor=owner, user=attacker, effect="deny", take_down_existing=True
        )
    else:
        change = cameo_services.cameo_delete(cameo=cameo, actor=owner, take_down_existing=True)
    derived = ("v1", "v2", "v3", "v4", "v5")
    assert change.taken_down == len(derived)
    assert {v: _status(videos[v]) for v in derived} == dict.fromkeys(derived, VideoStatus.TAKEN_DOWN)
    assert _status(videos["v0"]) == VideoStatus.READY
    for user, names in ((attacker, ("v1", "v2", "v3", "v4")), (friend, ("v5",))):
        for name in names:
            assert client_for(user).get(f"/api/v1/videos/{videos[name]}/content").status_code == 404
    # The post of V2 is gone for everyone.
    latest = client_for(UserFactory()).get("/api/v1/feed/latest")
    assert latest.status_code == 200 and latest.json()["results"] == []


def test_removing_one_appearance_removes_everything_made_from_that_video(chain):
    owner, _, friend, cameo, videos, client_for = chain
    v2 = CameoAppearance.objects.get(cameo=cameo, video_id=videos["v2"])
    response = client_for(owner).post(
        f"/api/v1/cameos/{cameo.pk}/appearances/{v2.pk}/remove", {"reason": "not me"}, format="json"
    )
    assert response.status_code == 200, response.json()
    # V2 and what was made from it, by X and by F (still allowed: it is the same likeness).
    for name in ("v2", "v3", "v4", "v5"):
        assert _status(videos[name]) == VideoStatus.TAKEN_DOWN, name
    assert CameoAppearance.objects.get(cameo=cameo, video_id=videos["v5"]).status == CameoAppearance.Status.REMOVED
    # V1 (its source) and V0 (unrelated) stay.
    assert _status(videos["v1"]) == VideoStatus.READY and _status(videos["v0"]) == VideoStatus.READY
    assert Notification.objects.filter(recipient=friend, kind="cameo_appearance_removed").exists()


def test_inherited_cameos_do_not_use_up_the_limit_but_are_all_checked(client_for):
    a, b, c, maker = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    cameos = [CameoFactory(owner=owner, audience=CameoAudience.EVERYONE) for owner in (a, b, c)]
    api = client_for(maker)
    source = generate(api, {"prompt": PROMPT, "cameos": [str(cameos[0].pk), str(cameos[1].pk)]})
    response = api.post(f"/v1/videos/{source.public_id}/remix", {"prompt": f"@{c.handle} joins them"}, format="json")
    assert response.status_code == 200, response.json()
    shown = client_for(maker).get(f"/api/v1/generations/{response.json()['id']}").json()["cameos"]
    assert sorted((row["id"], row["inherited"]) for row in shown) == sorted(
        [(cameos[2].pk, False), (cameos[0].pk, True), (cameos[1].pk, True)]
    )
    # One of the inherited owners narrows consent: the next derivative is refused for them.
    cameo_services.cameo_update(cameo=cameos[1], actor=b, audience=CameoAudience.APPROVED)
    refused = api.post(f"/v1/videos/{source.public_id}/remix", {"prompt": PROMPT}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "cameo_permission_denied"


def test_a_source_that_comes_to_show_a_cameo_passes_it_on_at_completion(client_for):
    owner, maker = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    api = client_for(maker)
    source = generate(api, {"prompt": PROMPT})
    response = api.post(f"/v1/videos/{source.public_id}/remix", {"prompt": PROMPT}, format="json")
    job = GenerationJob.objects.get(public_id=response.json()["id"])
    assert not job.job_cameos.exists()
    # While the remix is queued, the maker posts the source featuring the cameo.
    post_create(author=maker, video=source.result_video, cameos=[cameo])
    job = render(job)
    assert job.status == JobStatus.SUCCEEDED
    appearance = CameoAppearance.objects.get(cameo=cameo, video_id=job.result_video_id)
    assert appearance.via_video_id == source.result_video_id


def test_lineage_link_refuses_media_showing_a_cameo_the_uploader_may_not_use(client_for):
    owner, friend, stranger = UserFactory(), UserFactory(), UserFactory()
    make_friends(owner, friend)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    original = video_create_from_bytes(user=owner, data=_mp4(), source=VideoSource.UPLOAD)
    post_create(author=owner, video=original, cameos=[cameo])

    copy = video_create_from_bytes(user=stranger, data=_mp4(), source=VideoSource.UPLOAD)
    with pytest.raises(ApplicationError) as refused:
        video_lineage_link(video=copy, source_video=original, via="upload_match")
    assert refused.value.code == "cameo_not_found"
    assert not CameoAppearance.objects.filter(video_id=copy.pk).exists()
    assert not VideoLineage.objects.filter(video=copy).exists()

    allowed_copy = video_create_from_bytes(user=friend, data=_mp4(), source=VideoSource.UPLOAD)
    video_lineage_link(video=allowed_copy, source_video=original, via="upload_match")
    appearance = CameoAppearance.objects.get(cameo=cameo, video_id=allowed_copy.pk)
    assert (appearance.creator_id, appearance.via_video_id) == (friend.pk, original.pk)
    assert VideoLineage.objects.get(video=allowed_copy).via == "upload_match"
    # Posted, the copy features the cameo without the friend naming it.
    posted = client_for(friend).post("/api/v1/posts", {"video_id": allowed_copy.pk}, format="json")
    assert posted.status_code == 201, posted.json()
    assert list(Post.objects.get(pk=posted.json()["id"]).cameos.values_list("pk", flat=True)) == [cameo.pk]


def test_a_video_the_owner_removed_cannot_come_back_as_an_upload_or_a_reference(client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.media_match import video_frames_index

    owner, maker = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    api = client_for(maker)
    job = generate(api, {"prompt": PROMPT, "cameos": [str(cameo.pk)]})
    video = job.result_video
    video_frames_index(video=video)
    with video.file.open("rb") as handle, video.thumbnail.open("rb") as thumb:
        data, still = handle.read(), thumb.read()
    appearance = CameoAppearance.objects.get(cameo=cameo, video_id=video.pk)
    cameo_services.appearance_remove(appearance_id=appearance.pk, cameo=cameo, actor=owner, reason="no")
    videos_before = Video.objects.count()

    upload = api.post(
        "/api/v1/videos", {"file": SimpleUploadedFile("again.mp4", data, content_type="video/mp4")}, format="multipart"
    )
    assert upload.status_code == 409 and upload.json()["error"]["code"] == "appearance_removed"
    reference = api.post(
        "/v1/videos",
        {"prompt": PROMPT, "input_reference": SimpleUploadedFile("frame.jpg", still, content_type="image/jpeg")},
        format="multipart",
    )
    assert reference.status_code == 409 and reference.json()["error"]["code"] == "appearance_removed"
    assert Video.objects.count() == videos_before
    # Media that is not ours is taken as before.
    from tests.generation.factories import clip_bytes

    other = api.post(
        "/api/v1/videos",
        {"file": SimpleUploadedFile("mine.mp4", clip_bytes(seed=99, seconds=2.0), content_type="video/mp4")},
        format="multipart",
    )
    assert other.status_code == 201, other.json()
    assert not CameoAppearance.objects.filter(video_id=other.json()["id"]).exists()


def test_nothing_is_made_from_a_video_restored_after_its_cameo_owner_removed_it(client_for):
    from generation.services import video_restore

    owner, maker = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    api = client_for(maker)
    job = generate(api, {"prompt": PROMPT, "cameos": [str(cameo.pk)]})
    appearance = CameoAppearance.objects.get(cameo=cameo, video_id=job.result_video_id)
    cameo_services.appearance_remove(appearance_id=appearance.pk, cameo=cameo, actor=owner, reason="no")
    video_restore(video=job.result_video)  # e.g. a moderation appeal about something else
    response = api.post(f"/v1/videos/{job.public_id}/remix", {"prompt": PROMPT}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "appearance_removed"
    assert GenerationJob.objects.filter(user=maker).count() == 1


@pytest.mark.slow
def test_the_real_pipeline_renders_a_remix_that_inherits_the_cameo(client_for):
    """Once through the worker's own code (embedded model, watermark, MP4, C2PA, media check):
    two 720x1280 renders on the CPU, minutes on a busy machine, hence `slow`."""
    from generation import pipeline

    owner, maker = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    api = client_for(maker)
    first = api.post("/api/v1/generations", {"prompt": PROMPT, "cameos": [str(cameo.pk)]}, format="json").json()
    assert pipeline.run(GenerationJob.objects.get(public_id=first["id"]).pk, worker="test") == "succeeded"
    remix = api.post(f"/v1/videos/{first['id']}/remix", {"prompt": "the same, at night"}, format="json").json()
    job = GenerationJob.objects.get(public_id=remix["id"])
    assert pipeline.run(job.pk, worker="test") == "succeeded", job.error_message
    job.refresh_from_db()
    appearance = CameoAppearance.objects.get(cameo=cameo, video_id=job.result_video_id)
    assert appearance.via_video_id == job.source_video_id
    assert job.job_cameos.get().inherited
