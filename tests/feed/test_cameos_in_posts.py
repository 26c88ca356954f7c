"""Posts featuring cameos: consent checked, the owner told, and the owner's removal honoured."""

from __future__ import annotations

import pytest

from cameos.models import CameoAppearance, CameoAudience
from cameos.services import appearance_remove
from feed.models import Post, PostCameo
from generation.models import Video
from tests.cameos.factories import CameoFactory
from tests.feed.factories import PostFactory
from tests.generation.factories import VideoFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_post_featuring_a_cameo_records_it_and_tells_the_owner(client_for):
    owner, creator = UserFactory(handle="cameo_owner"), UserFactory(handle="creator")
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE, display_name="Ava")
    video = VideoFactory(created_by=creator)
    response = client_for(creator).post(
        "/api/v1/posts", {"video_id": video.pk, "cameo_ids": [cameo.pk], "visibility": "friends"}, format="json"
    )
    assert response.status_code == 201, response.content
    post_id = response.json()["id"]
    assert response.json()["cameos"] == [
        {"id": cameo.pk, "name": cameo.name, "display_name": "Ava", "owner_handle": "cameo_owner"}
    ]
    assert PostCameo.objects.filter(post_id=post_id, cameo=cameo).exists()
    assert CameoAppearance.objects.filter(cameo=cameo, video_id=video.pk, creator=creator).exists()
    told = [n for n in client_for(owner).get("/api/v1/notifications").json()["results"] if n["kind"] == "cameo_used"]
    assert len(told) == 1 and told[0]["text"] == "@creator put your cameo Ava in a video"
    # The owner sees what was made with their likeness, whatever its audience.
    assert client_for(owner).get(f"/api/v1/posts/{post_id}").status_code == 200
    assert client_for(UserFactory()).get(f"/api/v1/posts/{post_id}").status_code == 404


def test_a_cameo_without_consent_is_refused_and_nothing_is_written(client_for):
    owner, creator = UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.ONLY_ME)
    video = VideoFactory(created_by=creator)
    response = client_for(creator).post("/api/v1/posts", {"video_id": video.pk, "cameo_ids": [cameo.pk]}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "cameo_permission_denied" and error["decision"] == "audience_only_me"
    assert not Post.objects.exists() and not CameoAppearance.objects.exists()
    missing = client_for(creator).post("/api/v1/posts", {"video_id": video.pk, "cameo_ids": [10**9]}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "cameo_not_found"


def test_the_owner_removing_an_appearance_takes_every_post_down(client_for):
    owner, creator, fan = UserFactory(), UserFactory(), UserFactory()
    cameo = CameoFactory(owner=owner, audience=CameoAudience.EVERYONE)
    video = VideoFactory(created_by=creator)
    post = PostFactory(author=creator, video=video, cameos=[cameo])
    remix = PostFactory(remix_of=post)
    client_for(fan).post(f"/api/v1/posts/{post.pk}/like")
    appearance = CameoAppearance.objects.get(cameo=cameo, video_id=video.pk)

    appearance_remove(appearance_id=appearance.pk, cameo=cameo, actor=owner, reason="Not me, not ok")

    post.refresh_from_db()
    assert post.delete_kind == "cameo_owner" and post.delete_reason == "Not me, not ok" and post.deleted_by == owner
    assert Video.objects.get(pk=video.pk).status == "taken_down"
    assert client_for(fan).get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert client_for(owner).get(f"/api/v1/posts/{post.pk}").status_code == 404
    chain = client_for(fan).get(f"/api/v1/posts/{remix.pk}/chain").json()["results"]
    assert chain[0]["id"] == post.pk and chain[0]["available"] is False
    creator_notes = client_for(creator).get("/api/v1/notifications").json()["results"]
    assert not [n for n in creator_notes if n["target"] == {"type": "post", "id": post.pk}]
    # The video cannot come back through a new post.
    again = client_for(creator).post("/api/v1/posts", {"video_id": video.pk}, format="json")
    assert again.status_code == 409
