"""Likes (aggregated notifications), shares, hides ("not interested") and the simple feeds."""

from __future__ import annotations

import pytest

from feed.models import Post
from sora_social.notifications.models import Notification
from tests.feed.factories import PostFactory
from tests.users.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_likes_are_idempotent_and_aggregate_into_one_notification(client_for):
    author = UserFactory()
    post = PostFactory(author=author)
    fans = [UserFactory(handle=f"fan{i}") for i in range(13)]
    for fan in fans:
        first = client_for(fan).post(f"/api/v1/posts/{post.pk}/like")
        assert first.status_code == 200 and first.json()["liked"] is True
    again = client_for(fans[0]).post(f"/api/v1/posts/{post.pk}/like")
    assert again.json()["like_count"] == 13
    listed = client_for(author).get("/api/v1/notifications").json()["results"]
    likes = [n for n in listed if n["kind"] == "likes"]
    assert len(likes) == 1
    assert likes[0]["text"] == "@fan12 and 12 others liked your post"
    assert likes[0]["target"] == {"type": "post", "id": post.pk}

    gone = client_for(fans[0]).delete(f"/api/v1/posts/{post.pk}/like")
    assert gone.json() == {"liked": False, "like_count": 12}
    assert client_for(fans[0]).delete(f"/api/v1/posts/{post.pk}/like").json()["like_count"] == 12
    likers = client_for(author).get(f"/api/v1/posts/{post.pk}/likes", {"limit": 100}).json()["results"]
    assert len(likers) == 12 and likers[0]["user"]["handle"] == "fan12"
    detail = client_for(fans[1]).get(f"/api/v1/posts/{post.pk}").json()
    assert detail["viewer"]["liked"] is True and detail["like_count"] == 12


def test_shares_count(client_for):
    post = PostFactory()
    client = client_for(UserFactory())
    assert client.post(f"/api/v1/posts/{post.pk}/shares", {"channel": "message"}, format="json").status_code == 201
    second = client.post(f"/api/v1/posts/{post.pk}/shares", {}, format="json")
    assert second.json()["share_count"] == 2 and second.json()["channel"] == "link"
    bad = client.post(f"/api/v1/posts/{post.pk}/shares", {"channel": "pigeon"}, format="json")
    assert bad.status_code == 400


def test_not_interested_removes_a_post_from_my_feeds_only(client_for):
    me, author, other = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=author)
    kept, hidden = PostFactory(author=author), PostFactory(author=author)
    client = client_for(me)
    assert client.post(f"/api/v1/posts/{hidden.pk}/hide").json() == {"hidden": True}
    for feed in ("latest", "following"):
        ids = [p["id"] for p in client.get(f"/api/v1/feed/{feed}").json()["results"]]
        assert kept.pk in ids and hidden.pk not in ids, feed
    assert hidden.pk in [p["id"] for p in client_for(other).get("/api/v1/feed/latest").json()["results"]]
    assert client.delete(f"/api/v1/posts/{hidden.pk}/hide").json() == {"hidden": False}
    assert hidden.pk in [p["id"] for p in client.get("/api/v1/feed/following").json()["results"]]


def test_following_feed_is_people_i_follow(client_for):
    me, followed, stranger = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=me, followee=followed)
    mine, theirs, not_mine = PostFactory(author=me), PostFactory(author=followed), PostFactory(author=stranger)
    ids = [p["id"] for p in client_for(me).get("/api/v1/feed/following").json()["results"]]
    assert ids == [theirs.pk, mine.pk]
    assert not_mine.pk not in ids


def test_feed_pages_take_a_fixed_number_of_queries(client_for, django_assert_num_queries):
    author = UserFactory()
    roots = [PostFactory(author=author) for _ in range(4)]
    for r in roots:
        PostFactory(remix_of=r)
    client = client_for(UserFactory())
    client.get("/api/v1/feed/latest")
    # auth, the page, its cameos, the parents and roots it credits
    with django_assert_num_queries(4):
        response = client.get("/api/v1/feed/latest", {"limit": 8})
    assert len(response.json()["results"]) == 8


def test_moderation_removal_leaves_every_path_at_once(client_for):
    from feed import services

    author, fan = UserFactory(), UserFactory()
    post = PostFactory(author=author)
    remix = PostFactory(remix_of=post)
    services.like_create(user=fan, post_id=post.pk)
    assert Notification.objects.filter(recipient=author, hidden_at__isnull=True).exists()
    services.post_remove(post=post, reason="graphic violence")
    client = client_for(fan)
    assert client.get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert post.pk not in [p["id"] for p in client.get("/api/v1/feed/latest").json()["results"]]
    chain = client.get(f"/api/v1/posts/{remix.pk}/chain").json()["results"]
    assert chain[0]["available"] is False

    def about_post() -> list[dict]:
        listed = client_for(author).get("/api/v1/notifications").json()["results"]
        return [n for n in listed if n["target"] == {"type": "post", "id": post.pk}]

    assert about_post() == []  # the likes notification went with the post
    with pytest.raises(Exception) as refused:
        services.post_remove(post=post, reason="  ")
    assert getattr(refused.value, "code", "") == "reason_required"
    services.post_restore(post=post)
    assert client.get(f"/api/v1/posts/{post.pk}").status_code == 200
    assert [n["kind"] for n in about_post()] == ["likes"]
    # An author's own deletion is not undone by moderation.
    services.post_delete(post=post, by=author)
    with pytest.raises(Exception) as conflict:
        services.post_restore(post=post)
    assert getattr(conflict.value, "code", "") == "not_restorable"
    assert Post.objects.get(pk=post.pk).delete_kind == "author"
