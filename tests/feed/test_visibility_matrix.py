"""Who sees what: author / friend / follower / stranger / blocked (either way), for every
audience, on every path a post can be seen by: detail, profile, latest feed, chains up and
down, comments, likes, video bytes, events, and the notifications about it."""

from __future__ import annotations

import uuid

import pytest

from feed import services
from sora_social.notifications.models import Notification
from tests.feed.factories import PostFactory
from tests.generation.factories import VideoFactory
from tests.users.factories import BlockFactory, FollowFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db

ROLES = ["author", "friend", "follower", "stranger", "blocked", "blocker"]
AUDIENCES = ["public", "followers", "friends", "private"]
EXPECTED = {
    "author": {"public", "followers", "friends", "private"},
    "friend": {"public", "followers", "friends"},
    "follower": {"public", "followers"},
    "stranger": {"public"},
    "blocked": set(),  # the author blocked them
    "blocker": set(),  # they blocked the author
}


def _viewer_for(role: str, author):
    if role == "author":
        return author
    viewer = UserFactory()
    if role == "friend":
        make_friends(author, viewer)
    elif role == "follower":
        FollowFactory(follower=viewer, followee=author)
    elif role == "blocked":
        FollowFactory(follower=viewer, followee=author)  # a block wins over a follow
        BlockFactory(blocker=author, blocked=viewer)
    elif role == "blocker":
        BlockFactory(blocker=viewer, blocked=author)
    return viewer


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("role", ROLES)
def test_post_paths(client_for, role, audience):
    author = UserFactory()
    viewer = _viewer_for(role, author)
    root = PostFactory()  # someone else's public root
    post = PostFactory(author=author, visibility=audience, remix_of=root)
    remix_author = UserFactory()
    if audience != "private":
        make_friends(author, remix_author)  # so they may see (and remix) the post
    else:
        remix_author = author
    remix = PostFactory(author=remix_author, remix_of=post)
    services.comment_create(author=author, post_id=post.pk, body="first!")
    services.like_create(user=author, post_id=post.pk)

    client = client_for(viewer)
    visible = audience in EXPECTED[role]
    ok = 200 if visible else 404

    assert client.get(f"/api/v1/posts/{post.pk}").status_code == ok
    for path in ("chain", "remixes", "comments", "likes"):
        assert client.get(f"/api/v1/posts/{post.pk}/{path}").status_code == ok, path
    # Latest is the public firehose: a post is in it when it is public and visible to the viewer.
    latest = [p["id"] for p in client.get("/api/v1/feed/latest", {"limit": 100}).json()["results"]]
    assert (post.pk in latest) is (visible and audience == "public")
    profile = client.get(f"/api/v1/users/{author.handle}/posts")
    if role in {"blocked", "blocker"}:
        assert profile.status_code == 404
    else:
        assert (post.pk in [p["id"] for p in profile.json()["results"]]) is visible

    # Chains: from a visible remix below, the post is credited in full or as a placeholder.
    if client.get(f"/api/v1/posts/{remix.pk}").status_code == 200:
        chain = client.get(f"/api/v1/posts/{remix.pk}/chain").json()["results"]
        assert chain[0]["id"] == post.pk and chain[0]["available"] is visible
        assert (chain[0]["post"] is not None) is visible
        credit = client.get(f"/api/v1/posts/{remix.pk}").json()["remix_of"]
        assert credit["available"] is visible and (credit["author"] is not None) is visible
    tree = client.get(f"/api/v1/posts/{root.pk}/remixes").json()["results"]
    node = next((n for n in tree if n["id"] == post.pk), None)
    if node is not None:  # a hidden post with a visible remix below it stays as a placeholder
        assert node["available"] is visible
        assert (node["post"] is not None) is visible
    else:
        assert not visible

    # Writes on a post one cannot see are refused exactly like a missing post.
    write_ok = {200, 201} if visible else {404}
    assert client.post(f"/api/v1/posts/{post.pk}/comments", {"body": "hi"}, format="json").status_code in write_ok
    assert client.post(f"/api/v1/posts/{post.pk}/like").status_code in write_ok
    assert client.post(f"/api/v1/posts/{post.pk}/shares", {}, format="json").status_code in write_ok
    assert client.post(f"/api/v1/posts/{post.pk}/hide").status_code in write_ok

    # The video's bytes follow the post: the signed URL of a visible post plays; a guess does not.
    if visible:
        url = client.get(f"/api/v1/posts/{post.pk}").json()["video"]["url"]
        assert client.get(url).status_code == 200
    else:
        assert client.get(f"/api/v1/videos/{post.video_id}/content").status_code == 404

    # Events about a post one cannot see are rejected.
    events = client.post(
        "/api/v1/events",
        {"events": [{"id": str(uuid.uuid4()), "type": "impression", "post_id": post.pk}]},
        format="json",
    ).json()
    assert events["accepted"] == (1 if visible else 0)


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("role", ROLES)
def test_notifications_follow_visibility(client_for, role, audience):
    """The role user owns a post; the author remixes it with `audience`. The role user is told
    only if they may see the remix, and never while a block stands between them."""
    author = UserFactory()
    owner = author if role == "author" else UserFactory()
    original = PostFactory(author=owner)
    if role == "friend":
        make_friends(author, owner)
    elif role == "follower":
        FollowFactory(follower=owner, followee=author)
    remix = PostFactory(author=author, remix_of=original, visibility=audience, video=VideoFactory(created_by=author))
    if role == "blocked":
        BlockFactory(blocker=author, blocked=owner)
    elif role == "blocker":
        BlockFactory(blocker=owner, blocked=author)

    # At remix time a blocked pair were strangers (the block came after): told iff they could
    # see the remix; nobody is told about their own remix.
    as_then = "stranger" if role in {"blocked", "blocker"} else role
    stored_expected = role != "author" and audience in EXPECTED[as_then]
    # Once a block stands, the notification no longer shows.
    listed_expected = stored_expected and role not in {"blocked", "blocker"}

    assert Notification.objects.filter(recipient=owner, kind="post_remixed").exists() is stored_expected
    listed = client_for(owner).get("/api/v1/notifications").json()["results"]
    remixed = [n for n in listed if n["kind"] == "post_remixed"]
    assert bool(remixed) is listed_expected
    if listed_expected:
        data = remixed[0]["data"]
        assert data["post_id"] == remix.pk
        assert data["parent_id"] == original.pk and data["root_id"] == original.pk
        assert remixed[0]["target"] == {"type": "post", "id": remix.pk}
