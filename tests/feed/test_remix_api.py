"""Remixing through the API: permission, credits in the response and the notification."""

from __future__ import annotations

import pytest

from feed.models import Post
from feed.selectors import post_get_for_remix
from sora_social.common.errors import Forbidden, NotFound
from tests.feed.factories import PostFactory
from tests.generation.factories import VideoFactory
from tests.users.factories import FollowFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db


def _remix(client, parent: Post, user, **extra):
    video = VideoFactory(created_by=user)
    return client.post(f"/api/v1/posts/{parent.pk}/remixes", {"video_id": video.pk, **extra}, format="json")


def test_a_remix_credits_parent_and_root_and_notifies_the_parent_author(client_for):
    root_author, parent_author, remixer = UserFactory(handle="rooty"), UserFactory(handle="parenty"), UserFactory()
    root = PostFactory(author=root_author)
    parent = PostFactory(author=parent_author, remix_of=root)
    response = _remix(client_for(remixer), parent, remixer, caption="my take")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["depth"] == 2
    assert body["remix_of"] == {
        "id": parent.pk,
        "available": True,
        "author": {"id": parent_author.pk, "handle": "parenty", "display_name": "Parenty", "avatar_url": None},
    }
    assert body["root"]["id"] == root.pk and body["root"]["author"]["handle"] == "rooty"
    parent.refresh_from_db()
    root.refresh_from_db()
    assert (parent.remix_count, parent.descendant_count) == (1, 1)
    assert (root.remix_count, root.descendant_count) == (1, 2)

    told = client_for(parent_author).get("/api/v1/notifications").json()["results"]
    remixed = [n for n in told if n["kind"] == "post_remixed"]
    assert len(remixed) == 1
    assert remixed[0]["data"]["parent_id"] == parent.pk and remixed[0]["data"]["root_id"] == root.pk
    assert remixed[0]["data"]["root_author"] == "rooty"
    assert remixed[0]["text"] == f"@{remixer.handle} remixed your post"


@pytest.mark.parametrize(
    ("permission", "relation", "expected"),
    [
        ("anyone", "stranger", 201),
        ("friends", "stranger", 403),
        ("friends", "follower", 403),
        ("friends", "friend", 201),
        ("nobody", "friend", 403),
        ("nobody", "author", 201),
    ],
)
def test_remix_permission(client_for, permission, relation, expected):
    author = UserFactory()
    remixer = author if relation == "author" else UserFactory()
    if relation == "friend":
        make_friends(author, remixer)
    elif relation == "follower":
        FollowFactory(follower=remixer, followee=author)
    parent = PostFactory(author=author, remix_permission=permission)
    client = client_for(remixer)
    response = _remix(client, parent, remixer)
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["error"]["code"] == "remix_not_allowed"
        assert Post.objects.filter(remix_of=parent).count() == 0
        parent.refresh_from_db()
        assert parent.remix_count == 0
        detail = client.get(f"/api/v1/posts/{parent.pk}").json()
        assert detail["viewer"]["can_remix"] is False and detail["viewer"]["remix_refusal"]


def test_post_get_for_remix_is_the_one_gate(client_for):
    author, other = UserFactory(), UserFactory()
    hidden = PostFactory(author=author, visibility="private")
    closed = PostFactory(author=author, remix_permission="nobody")
    with pytest.raises(NotFound):
        post_get_for_remix(viewer=other, post_id=hidden.pk)
    with pytest.raises(Forbidden) as refused:
        post_get_for_remix(viewer=other, post_id=closed.pk)
    assert refused.value.code == "remix_not_allowed"
    assert post_get_for_remix(viewer=author, post_id=closed.pk).pk == closed.pk


def test_cannot_remix_what_you_cannot_see(client_for):
    author, other = UserFactory(), UserFactory()
    parent = PostFactory(author=author, visibility="friends")
    response = _remix(client_for(other), parent, other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "post_not_found"


def test_a_private_remix_does_not_notify_a_parent_author_who_cannot_see_it(client_for):
    author, remixer = UserFactory(), UserFactory()
    parent = PostFactory(author=author)
    assert _remix(client_for(remixer), parent, remixer, visibility="private").status_code == 201
    told = client_for(author).get("/api/v1/notifications").json()["results"]
    assert not [n for n in told if n["kind"] == "post_remixed"]
