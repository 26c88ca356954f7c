"""Posting, reading, editing and deleting posts through the API."""

from __future__ import annotations

import pytest

from feed.models import Post
from feed.serializers import PostOutputSerializer
from generation.services import video_take_down
from tests.feed.factories import PostFactory
from tests.feed.shapes import assert_shape
from tests.generation.factories import VideoFactory, real_video
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_post_a_video_then_read_it(client_for):
    ava = UserFactory(handle="ava")
    video = real_video(ava)
    client = client_for(ava)
    created = client.post(
        "/api/v1/posts",
        {"video_id": video.pk, "caption": "  first light ", "visibility": "public", "remix_permission": "friends"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert_shape(PostOutputSerializer, body)
    assert body["caption"] == "first light"
    assert body["author"]["handle"] == "ava"
    assert body["remix_of"] is None and body["root"] is None and body["depth"] == 0
    assert body["video"]["width"] == 160 and body["video"]["height"] == 96
    assert body["viewer"] == {"is_author": True, "liked": False, "can_remix": True, "remix_refusal": ""}
    assert "/media/" not in body["video"]["url"]

    detail = client.get(f"/api/v1/posts/{body['id']}")
    assert detail.status_code == 200
    assert detail.json()["id"] == body["id"]


def test_cannot_post_someone_elses_video(client_for):
    owner, other = UserFactory(), UserFactory()
    video = VideoFactory(created_by=owner)
    response = client_for(other).post("/api/v1/posts", {"video_id": video.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "video_not_found"
    assert not Post.objects.exists()


def test_bad_fields_get_codes(client_for):
    user = UserFactory()
    video = VideoFactory(created_by=user)
    response = client_for(user).post("/api/v1/posts", {"video_id": video.pk, "visibility": "world"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "visibility" in response.json()["error"]["fields"]


def test_a_taken_down_video_cannot_be_posted_and_its_posts_vanish(client_for):
    author, viewer = UserFactory(), UserFactory()
    post = PostFactory(author=author)
    assert client_for(viewer).get(f"/api/v1/posts/{post.pk}").status_code == 200
    video_take_down(video=post.video, reason="copyright")
    assert client_for(viewer).get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert client_for(author).get(f"/api/v1/posts/{post.pk}").status_code == 404
    again = client_for(author).post("/api/v1/posts", {"video_id": post.video_id}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "video_unavailable"


def test_only_the_author_edits_and_deletes(client_for):
    author, other = UserFactory(), UserFactory()
    post = PostFactory(author=author)
    refused = client_for(other).patch(f"/api/v1/posts/{post.pk}", {"caption": "mine now"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_post_author"
    edited = client_for(author).patch(
        f"/api/v1/posts/{post.pk}", {"caption": "edited", "visibility": "friends"}, format="json"
    )
    assert edited.status_code == 200
    assert edited.json()["caption"] == "edited" and edited.json()["visibility"] == "friends"
    assert client_for(other).delete(f"/api/v1/posts/{post.pk}").status_code == 404  # cannot see it now
    assert client_for(author).delete(f"/api/v1/posts/{post.pk}").status_code == 204
    assert client_for(author).get(f"/api/v1/posts/{post.pk}").status_code == 404
    post.refresh_from_db()
    assert post.delete_kind == "author" and post.deleted_at is not None


def test_suspended_accounts_read_but_do_not_post(client_for):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory(suspended_until=timezone.now() + timedelta(days=1))
    video = VideoFactory(created_by=user)
    post = PostFactory()
    client = client_for(user)
    assert client.get(f"/api/v1/posts/{post.pk}").status_code == 200
    refused = client.post("/api/v1/posts", {"video_id": video.pk}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_suspended"
