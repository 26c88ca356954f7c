"""Deleting an account through DELETE /api/v1/account: the password is asked again; then every
video with the person's likeness stops being served (theirs and other people's, posts and
drafts), their own content goes, in-flight jobs are cancelled and refunded, ledgers keep their
rows under an anonymous tombstone, and their tokens stop working."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import default_storage

from cameos import storage as cameo_storage
from cameos.models import Cameo, CameoAppearance, CameoAudience, CameoReference, CameoStatus, RoyaltyEntry
from feed.models import Post
from generation import credits
from generation.models import CreditEntry, CreditEntryKind, GenerationJob, JobStatus, Video
from moderation.models import Report
from sora_social.notifications.models import Notification
from sora_social.users.models import AuthToken, Follow, User
from tests.cameos.factories import CameoFactory, CharacterFactory
from tests.generation.factories import clip_bytes, real_video
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough secret 2026"
URL = "/api/v1/account"


@pytest.fixture(autouse=True)
def _no_dispatch(monkeypatch):
    """Submitted jobs stay queued (rendering has its own e2e tests): deletion must cancel them."""
    monkeypatch.setattr("generation.tasks.generation_job_run.apply_async", lambda args, queue, **options: None)


def _cameo_with_media(owner: User, **extra) -> Cameo:
    """An active cameo whose clip and reference image are real files in private storage."""
    cameo = CameoFactory(owner=owner, name=owner.handle, embedding=[0.1] * 8, **extra)
    folder = cameo_storage.new_private_folder(owner.pk)
    cameo.clip_path = cameo_storage.save(f"{folder}/clip.mp4", clip_bytes(seed=3))
    cameo.save(update_fields=["clip_path"])
    path = cameo_storage.save(f"{folder}/ref-0.png", b"\x89PNG fake reference bytes")
    CameoReference.objects.create(cameo=cameo, role="face", index=0, path=path, width=8, height=8, is_primary=True)
    return cameo


def _post(api, video: Video, *, cameo_ids=(), caption: str = "look") -> dict:
    response = api.post(
        "/api/v1/posts", {"video_id": video.pk, "caption": caption, "cameo_ids": list(cameo_ids)}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _delete(api, password: str | None = PASSWORD):
    body = {} if password is None else {"password": password}
    return api.delete(URL, body, format="json")


@pytest.fixture
def owner():
    user = UserFactory(handle="olivia_o", email="olivia@example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_a_wrong_or_missing_password_deletes_nothing(client_for, owner):
    api = client_for(owner)
    cameo = _cameo_with_media(owner)

    missing = _delete(api, None)
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"]["password"]
    wrong = _delete(api, "not my password")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "wrong_password"

    owner.refresh_from_db()
    cameo.refresh_from_db()
    assert owner.is_active and owner.deleted_at is None and owner.handle == "olivia_o"
    assert cameo.status == CameoStatus.ACTIVE and default_storage.exists(cameo.clip_path)
    assert api.get("/api/v1/me").status_code == 200


def test_nothing_with_their_likeness_is_served_after_deletion(client_for, owner, django_capture_on_commit_callbacks):
    maker, viewer = UserFactory(handle="max_maker"), UserFactory()
    owner_api, maker_api, viewer_api = client_for(owner), client_for(maker), client_for(viewer)
    cameo = _cameo_with_media(owner, audience=CameoAudience.EVERYONE)
    clip_path = cameo.clip_path
    reference_path = CameoReference.objects.get(cameo=cameo).path

    # Someone else's post with the cameo, someone else's draft with it, the owner's own post.
    maker_video = real_video(maker, seed=1)
    maker_post = _post(maker_api, maker_video, cameo_ids=[cameo.pk])
    maker_draft = real_video(maker, seed=2)
    from cameos import services as cameo_services

    cameo_services.appearance_record(cameo=cameo, creator=maker, video_id=maker_draft.pk)
    own_video = real_video(owner, seed=4)
    own_post = _post(owner_api, own_video, cameo_ids=[cameo.pk], caption="me, surfing")
    # A second account's remix of the owner's post shows the owner too.
    remix_video = real_video(viewer, seed=5)
    remix = viewer_api.post(
        f"/api/v1/posts/{own_post['id']}/remixes",
        {"video_id": remix_video.pk, "cameo_ids": [cameo.pk]},
        format="json",
    )
    assert remix.status_code == 201, remix.json()
    remix_post = remix.json()
    # A derivative of the maker's video (a re-upload recognised as a copy of it): it inherits the
    # cameo through lineage, and is still a draft.
    from generation.services import video_lineage_link

    derived = real_video(viewer, seed=8)
    video_lineage_link(video=derived, source_video=maker_video, via="upload_match")

    # Every URL that served a video with the likeness, collected as each viewer saw it.
    served = [
        (viewer_api, maker_post["video"]["url"]),
        (viewer_api, maker_post["video"]["thumbnail_url"]),
        (maker_api, f"/api/v1/videos/{maker_video.pk}/content"),
        (maker_api, f"/api/v1/videos/{maker_draft.pk}/content"),
        (maker_api, f"/api/v1/videos/{maker_draft.pk}"),
        (viewer_api, own_post["video"]["url"]),
        (viewer_api, f"/api/v1/posts/{own_post['id']}"),
        (viewer_api, f"/api/v1/posts/{maker_post['id']}"),
        (maker_api, f"/api/v1/posts/{remix_post['id']}"),
        (maker_api, remix_post["video"]["url"]),
        (viewer_api, f"/api/v1/videos/{derived.pk}/content"),
        (viewer_api, f"/api/v1/cameos/{cameo.pk}"),
        (viewer_api, f"/api/v1/users/{owner.handle}"),
    ]
    for client, url in served:
        assert client.get(url).status_code == 200, url
    feed_ids = {p["id"] for p in viewer_api.get(f"/api/v1/cameos/{cameo.pk}/posts").json()["results"]}
    assert {maker_post["id"], own_post["id"], remix_post["id"]} <= feed_ids

    with django_capture_on_commit_callbacks(execute=True):
        response = _delete(owner_api)
    assert response.status_code == 200, response.json()
    counts = response.json()["counts"]
    # The maker's post, the maker's draft, the own post, the remix, and the derivative (taken
    # down with its source, through lineage).
    assert counts["cameos.appearances_taken_down"] == 5
    assert counts["generation.videos_erased"] == 1
    # The own post went with the likeness (its appearance); it also lost its caption.
    assert Post.objects.get(pk=own_post["id"]).caption == ""

    for client, url in served:
        assert client.get(url).status_code in (404, 410), url
    assert viewer_api.get(f"/api/v1/cameos/{cameo.pk}/posts").status_code == 404 or not [
        p for p in viewer_api.get(f"/api/v1/cameos/{cameo.pk}/posts").json()["results"]
    ]
    latest = {p["id"] for p in viewer_api.get("/api/v1/feed/latest").json()["results"]}
    assert not latest & {maker_post["id"], own_post["id"], remix_post["id"]}
    chain = viewer_api.get(f"/api/v1/posts/{remix_post['id']}/chain")
    assert chain.status_code == 404

    # The cameo's clip, reference and embedding are gone; the row stays, revoked and emptied.
    cameo.refresh_from_db()
    assert cameo.status == CameoStatus.REVOKED and cameo.embedding is None and cameo.clip_path == ""
    assert cameo.name != "olivia_o" and cameo.aliases == []
    assert not CameoReference.objects.filter(cameo=cameo).exists()
    assert not default_storage.exists(clip_path) and not default_storage.exists(reference_path)
    assert not CameoAppearance.objects.filter(cameo=cameo, status="active").exists()
    # The files of every video that showed the likeness are erased, not just hidden: the
    # owner's own and other people's, so no copy can come back.
    for video in (own_video, maker_video, maker_draft, remix_video, derived):
        assert not Video.objects.get(pk=video.pk).file and not default_storage.exists(video.file.name), video.pk
    assert counts["generation.likeness_videos_erased"] == 4


def test_own_content_goes_ledgers_stay_anonymous_tokens_stop(client_for, owner, django_capture_on_commit_callbacks):
    other = UserFactory(handle="ollie_other")
    owner_api, other_api = client_for(owner), client_for(other)
    second_token = client_for(owner)
    credits.credits_purchase(user=owner, amount=50, receipt_id="receipt-olivia-1")

    other_post = _post(other_api, real_video(other, seed=6))
    assert owner_api.post(f"/api/v1/posts/{other_post['id']}/like").status_code in (200, 201, 204)
    comment = owner_api.post(f"/api/v1/posts/{other_post['id']}/comments", {"body": "great!"}, format="json")
    assert comment.status_code == 201, comment.json()
    assert owner_api.post(f"/api/v1/users/{other.handle}/follow").status_code == 204
    assert other_api.post(f"/api/v1/users/{owner.handle}/follow").status_code == 204
    report = owner_api.post(
        "/api/v1/reports", {"target_type": "post", "target_id": other_post["id"], "reason": "spam"}, format="json"
    )
    assert report.status_code == 201, report.json()
    # An in-flight job of the owner's: cancelled and refunded by the deletion.
    submitted = owner_api.post("/api/v1/generations", {"prompt": "a red ball bounces"}, format="json")
    assert submitted.status_code == 201, submitted.json()

    # A character the owner licenses earned royalties: the ledger lines survive the deletion.
    character = CharacterFactory(owner=owner)
    RoyaltyEntry.objects.create(party="rights_holder", account=owner, cameo=character, amount=7, job_id=99)
    RoyaltyEntry.objects.create(party="platform", account=None, cameo=character, amount=3, job_id=99)
    RoyaltyEntry.objects.create(party="creator", account=other, cameo=character, amount=-10, job_id=99)

    before = other_api.get(f"/api/v1/posts/{other_post['id']}").json()
    assert before["like_count"] == 1 and before["comment_count"] == 1
    old_handle = owner.handle
    ledger_rows = CreditEntry.objects.filter(user=owner).count()

    with django_capture_on_commit_callbacks(execute=True):
        response = _delete(owner_api)
    assert response.status_code == 200, response.json()

    # Every token of the account is refused at once; the password no longer logs in.
    assert owner_api.get("/api/v1/me").status_code == 401
    assert second_token.get("/api/v1/me").status_code == 401
    assert not AuthToken.objects.filter(user=owner, revoked_at__isnull=True).exists()
    login = client_for(other).post("/api/v1/auth/login", {"handle": old_handle, "password": PASSWORD}, format="json")
    assert login.status_code == 401

    # Their likes, comments and follows are gone, with the counters they fed.
    after = other_api.get(f"/api/v1/posts/{other_post['id']}").json()
    assert after["like_count"] == 0 and after["comment_count"] == 0
    assert other_api.get(f"/api/v1/posts/{other_post['id']}/comments").json()["results"] == []
    assert not Follow.objects.filter(follower=owner).exists() and not Follow.objects.filter(followee=owner).exists()
    assert other_api.get(f"/api/v1/users/{old_handle}").status_code == 404

    # The job was cancelled and refunded; the ledger keeps every row, under the tombstone.
    job = GenerationJob.objects.get(public_id=submitted.json()["id"])
    assert job.status == JobStatus.CANCELLED and job.prompt == ""
    assert CreditEntry.objects.filter(job=job, kind=CreditEntryKind.REFUND).exists()
    assert CreditEntry.objects.filter(user=owner).count() == ledger_rows + 1  # + the refund
    assert RoyaltyEntry.objects.filter(account=owner).count() == 1
    tombstone = User.objects.get(pk=owner.pk)
    assert tombstone.handle.startswith("deleted_") and tombstone.deleted_at is not None
    assert (tombstone.email, tombstone.display_name, tombstone.date_of_birth) == ("", "", None)
    assert not tombstone.is_active and not tombstone.has_usable_password()
    # Reports they filed stay with the case, under the tombstone.
    assert Report.objects.filter(reporter=owner).count() == 1

    # Their own notification stream is gone; what they did in others' streams no longer names them.
    assert not Notification.objects.filter(recipient=owner).exists()
    told = Notification.objects.filter(recipient=other, kind="new_follower").get()
    assert told.actor_id is None and old_handle not in told.text and old_handle not in json.dumps(told.data)

    # The handle is free again for someone new.
    signup = client_for(other).post(
        "/api/v1/auth/signup",
        {"handle": old_handle, "password": "another fine password 99", "date_of_birth": "1990-01-01"},
        format="json",
    )
    assert signup.status_code == 201, signup.json()
    # ... but nobody may take a tombstone's kind of handle.
    taken = client_for(other).post(
        "/api/v1/auth/signup",
        {"handle": "deleted_abc", "password": "another fine password 99", "date_of_birth": "1990-01-01"},
        format="json",
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "handle_reserved"


def test_in_flight_jobs_of_others_with_the_cameo_are_cancelled_and_refunded(client_for, owner):
    maker = UserFactory()
    cameo = _cameo_with_media(owner, audience=CameoAudience.EVERYONE)
    submitted = client_for(maker).post(
        "/api/v1/generations", {"prompt": f"@{cameo.name} on a beach", "cameos": [str(cameo.pk)]}, format="json"
    )
    assert submitted.status_code == 201, submitted.json()
    spent = credits.credit_balance(user=maker).free_used_today
    assert spent > 0

    assert _delete(client_for(owner)).status_code == 200

    job = GenerationJob.objects.get(public_id=submitted.json()["id"])
    assert job.status == JobStatus.CANCELLED
    assert credits.credit_balance(user=maker).free_used_today == 0
    failed = Notification.objects.filter(recipient=maker, kind="generation_failed").get()
    assert failed.data["code"] == "cameo_permission_revoked"


def test_a_deleted_account_cannot_be_deleted_twice_nor_used(client_for, owner):
    api = client_for(owner)
    assert _delete(api).status_code == 200
    again = _delete(api)
    assert again.status_code == 401
    assert Post.objects.filter(author=owner).count() == 0
