"""Comments and one level of replies: threads, counts, notifications, blocks, query counts."""

from __future__ import annotations

import pytest

from feed import services
from feed.models import Comment, Post
from feed.serializers import CommentOutputSerializer
from tests.feed.factories import CommentFactory, PostFactory
from tests.feed.shapes import assert_shape
from tests.users.factories import BlockFactory, UserFactory

pytestmark = pytest.mark.django_db


def _kinds(client) -> list[tuple[str, str]]:
    return [(n["kind"], n["text"]) for n in client.get("/api/v1/notifications").json()["results"]]


def test_comment_and_reply_one_level_deep_with_notifications(client_for):
    author, cleo, dev = UserFactory(handle="author1"), UserFactory(handle="cleo"), UserFactory(handle="dev")
    post = PostFactory(author=author)
    top = client_for(cleo).post(f"/api/v1/posts/{post.pk}/comments", {"body": "love the light"}, format="json")
    assert top.status_code == 201
    assert_shape(CommentOutputSerializer, top.json())
    top_id = top.json()["id"]
    reply = client_for(dev).post(
        f"/api/v1/posts/{post.pk}/comments", {"body": "same here", "reply_to": top_id}, format="json"
    )
    assert reply.status_code == 201 and reply.json()["parent_id"] == top_id
    # A reply to a reply joins the same thread (one level deep) and tells the person replied to.
    deeper = client_for(cleo).post(
        f"/api/v1/posts/{post.pk}/comments", {"body": "thanks dev", "reply_to": reply.json()["id"]}, format="json"
    )
    assert deeper.status_code == 201 and deeper.json()["parent_id"] == top_id

    post.refresh_from_db()
    assert post.comment_count == 3
    assert Comment.objects.get(pk=top_id).reply_count == 2
    assert ("comment", "@cleo commented: love the light") in _kinds(client_for(author))
    assert ("reply", "@dev replied: same here") in _kinds(client_for(cleo))
    assert ("reply", "@cleo replied: thanks dev") in _kinds(client_for(dev))

    listed = client_for(dev).get(f"/api/v1/posts/{post.pk}/comments").json()["results"]
    assert [c["id"] for c in listed] == [top_id]  # replies live under their thread
    replies = client_for(dev).get(f"/api/v1/comments/{top_id}/replies").json()["results"]
    assert [r["body"] for r in replies] == ["same here", "thanks dev"]


def test_comments_of_blocked_people_are_hidden_both_ways(client_for):
    post = PostFactory()
    viewer, pest, shy = UserFactory(), UserFactory(), UserFactory()
    BlockFactory(blocker=viewer, blocked=pest)
    BlockFactory(blocker=shy, blocked=viewer)
    CommentFactory(post=post, author=pest, body="from the pest")
    shy_comment = CommentFactory(post=post, author=shy, body="from the shy one")
    CommentFactory(post=post, author=UserFactory(), body="from someone")
    bodies = [c["body"] for c in client_for(viewer).get(f"/api/v1/posts/{post.pk}/comments").json()["results"]]
    assert bodies == ["from someone"]
    assert client_for(viewer).get(f"/api/v1/comments/{shy_comment.pk}").status_code == 404
    refused = client_for(viewer).post(
        f"/api/v1/posts/{post.pk}/comments", {"body": "hey", "reply_to": shy_comment.pk}, format="json"
    )
    assert refused.status_code == 404


def test_delete_by_comment_author_or_post_author_only(client_for):
    post_author, commenter, other = UserFactory(), UserFactory(), UserFactory()
    post = PostFactory(author=post_author)
    first = CommentFactory(post=post, author=commenter)
    second = CommentFactory(post=post, author=commenter)
    refused = client_for(other).delete(f"/api/v1/comments/{first.pk}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_comment_author"
    assert client_for(commenter).delete(f"/api/v1/comments/{first.pk}").status_code == 204
    assert client_for(post_author).delete(f"/api/v1/comments/{second.pk}").status_code == 204
    second.refresh_from_db()
    assert second.delete_kind == "post_author"
    assert Post.objects.get(pk=post.pk).comment_count == 0
    assert client_for(other).get(f"/api/v1/posts/{post.pk}/comments").json()["results"] == []


def test_moderation_removes_and_restores_a_comment_everywhere(client_for):
    post = PostFactory()
    top = CommentFactory(post=post)
    reply = CommentFactory(post=post, reply_to=top)
    viewer = client_for(UserFactory())
    services.comment_remove(comment=top, reason="harassment")
    assert viewer.get(f"/api/v1/posts/{post.pk}/comments").json()["results"] == []
    assert viewer.get(f"/api/v1/comments/{reply.pk}").status_code == 404  # its thread went with it
    owner_notes = client_for(post.author).get("/api/v1/notifications").json()["results"]
    assert not [n for n in owner_notes if n["target"] == {"type": "comment", "id": top.pk}]
    services.comment_restore(comment=top)
    assert [c["id"] for c in viewer.get(f"/api/v1/posts/{post.pk}/comments").json()["results"]] == [top.pk]
    owner_notes = client_for(post.author).get("/api/v1/notifications").json()["results"]
    assert [n for n in owner_notes if n["target"] == {"type": "comment", "id": top.pk}]


def test_comment_list_takes_a_fixed_number_of_queries(client_for, django_assert_num_queries):
    post = PostFactory()
    for _ in range(15):
        CommentFactory(post=post)
    client = client_for(UserFactory())
    client.get(f"/api/v1/posts/{post.pk}/comments")  # the token's last_used_at is written once
    # auth, the post (row + cameos), the comments page
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/posts/{post.pk}/comments", {"limit": 10})
    assert len(response.json()["results"]) == 10


def test_empty_and_long_comments_are_refused(client_for):
    post = PostFactory()
    client = client_for(UserFactory())
    blank = client.post(f"/api/v1/posts/{post.pk}/comments", {"body": "   "}, format="json")
    assert blank.status_code == 400
    assert blank.json()["error"]["code"] in {"invalid", "comment_empty"}
    assert Post.objects.get(pk=post.pk).comment_count == 0
