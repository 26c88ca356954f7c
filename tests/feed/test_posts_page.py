"""The feeds' one-statement page read (`feed.selectors.posts_page`) says exactly what the ORM
path says (`posts_visible_to` + `lineage_refs` + `post_data`), and the fast content tokens are
Django's signed tokens byte for byte."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from feed import selectors, services
from feed.models import Post
from feed.serializers import posts_data
from generation import selectors as media
from tests.cameos.factories import CameoFactory
from tests.feed.factories import PostFactory
from tests.users.factories import BlockFactory, FollowFactory, MinorFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db

FROZEN = 1_800_000_000.25


@pytest.fixture
def frozen_time(monkeypatch):
    # Tokens carry a timestamp: freeze it so two builds of one page compare equal.
    monkeypatch.setattr(time, "time", lambda: FROZEN)


def _world(viewer) -> list[int]:
    """Posts of every kind a page can meet; returns their ids in a scrambled order."""
    friend, follower_only, stranger, blocked, blocker = (UserFactory() for _ in range(5))
    make_friends(viewer, friend)
    FollowFactory(follower=viewer, followee=follower_only)
    BlockFactory(blocker=viewer, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=viewer)
    friend.avatar = "avatars/2026/11/friend.png"
    friend.save(update_fields=["avatar"])
    posts: list[Post] = []
    posts.append(PostFactory(author=friend))
    posts.append(PostFactory(author=friend, visibility="friends", remix_permission="friends"))
    posts.append(PostFactory(author=follower_only, visibility="followers", remix_permission="nobody"))
    posts.append(PostFactory(author=follower_only, visibility="friends"))  # not a friend: hidden
    posts.append(PostFactory(author=stranger, visibility="private"))
    posts.append(PostFactory(author=blocked))
    posts.append(PostFactory(author=blocker))
    posts.append(PostFactory(author=viewer, visibility="private"))
    # The viewer's cameo in a friend's private post: the cameo's owner sees it all the same.
    cameo = CameoFactory(owner=viewer)
    posts.append(PostFactory(author=friend, visibility="private", cameos=[cameo]))
    posts.append(PostFactory(author=friend, cameos=[CameoFactory(owner=friend)]))
    # A chain: a hidden (private) root, a deleted parent, visible remixes below.
    root = PostFactory(author=stranger)
    parent = PostFactory(author=friend, remix_of=root)
    child = PostFactory(author=stranger, remix_of=parent)
    grandchild = PostFactory(author=friend, remix_of=child)
    Post.objects.filter(pk=root.pk).update(visibility="private")
    services.post_delete(post=parent, by=friend)
    posts += [root, parent, child, grandchild]
    # Liked, hidden, removed, age-restricted.
    liked = PostFactory(author=stranger)
    services.like_create(user=viewer, post_id=liked.pk)
    hidden = PostFactory(author=friend)
    services.hide_create(user=viewer, post_id=hidden.pk)
    removed = PostFactory(author=friend)
    services.post_remove(post=removed, reason="test")
    adult = PostFactory(author=stranger)
    Post.objects.filter(pk=adult.pk).update(age_restricted=True)
    posts += [liked, hidden, removed, adult]
    ids = [p.pk for p in posts]
    return ids[::2] + ids[1::2][::-1] + [ids[0]]  # scrambled, with one id twice


def _orm_page(viewer, ids: list[int]) -> tuple[list[Post], dict]:
    rows = {p.pk: p for p in selectors.posts_latest(viewer=viewer).filter(pk__in=ids)}
    posts = [rows[i] for i in ids if i in rows]
    return posts, selectors.lineage_refs(viewer=viewer, posts=posts)


@pytest.mark.parametrize("minor", [False, True])
def test_posts_page_serialises_exactly_like_the_orm_path(frozen_time, minor):
    viewer = MinorFactory() if minor else UserFactory()
    ids = _world(viewer)
    request = APIRequestFactory().get("/api/v1/feed/following")
    expected_posts, expected_lineage = _orm_page(viewer, ids)
    got = selectors.posts_page(viewer_id=viewer.pk, post_ids=ids)
    assert [p.pk for p in got.posts] == [p.pk for p in expected_posts]
    assert len(got.posts) >= 8
    expected = posts_data(expected_posts, viewer_id=viewer.pk, request=request, lineage=expected_lineage)
    actual = posts_data(got.posts, viewer_id=viewer.pk, request=request, lineage=got.lineage)
    assert actual == expected
    # The cases the world was built for are all there.
    by_id = {p["id"]: p for p in actual}
    assert any(p["remix_of"] and not p["remix_of"]["available"] for p in actual)
    assert any(p["remix_of"] and p["remix_of"]["available"] and p["root"]["available"] is False for p in actual)
    assert any(p["viewer"]["liked"] for p in actual)
    assert any(p["cameos"] for p in actual)
    assert any(p["author"]["avatar_url"] for p in actual)
    assert any(not p["viewer"]["can_remix"] for p in actual)
    assert all(p["video"]["url"].startswith("http://testserver/") for p in by_id.values())


def test_posts_page_takes_one_query(django_assert_num_queries):
    viewer = UserFactory()
    ids = _world(viewer)
    with django_assert_num_queries(1):
        selectors.posts_page(viewer_id=viewer.pk, post_ids=ids)
    with django_assert_num_queries(0):
        assert selectors.posts_page(viewer_id=viewer.pk, post_ids=[]).posts == []


def test_posts_page_reads_changes_at_once():
    """Nothing is cached between pages: a like, a comment, an edit, a removal, an audience
    change or a block shows on the very next read."""
    viewer, author = UserFactory(), UserFactory()
    post = PostFactory(author=author)
    remix = PostFactory(author=UserFactory(), remix_of=post)

    def read(pid: int):
        found = selectors.posts_page(viewer_id=viewer.pk, post_ids=[pid]).posts
        return found[0] if found else None

    services.like_create(user=viewer, post_id=post.pk)
    services.comment_create(author=viewer, post_id=post.pk, body="nice")
    services.post_update(post=post, by=author, caption="edited")
    got = read(post.pk)
    assert (got.like_count, got.comment_count, got.caption, got.viewer_liked) == (1, 1, "edited", True)
    assert got.remix_count == 1 and got.descendant_count == 1
    services.post_update(post=post, by=author, visibility="followers")
    assert read(post.pk) is None
    credit = selectors.posts_page(viewer_id=viewer.pk, post_ids=[remix.pk]).lineage[post.pk]
    assert credit.available is False
    services.post_update(post=post, by=author, visibility="public")
    assert read(post.pk) is not None
    services.post_remove(post=post, reason="test")
    assert read(post.pk) is None
    BlockFactory(blocker=remix.author, blocked=viewer)
    assert read(remix.pk) is None


def test_content_token_is_djangos_signed_token(frozen_time):
    for video_id, variant, viewer_id in [(1, "video", 0), (123456789, "thumbnail", 42), (7, "video", 2**40)]:
        token = media.content_token(video_id=video_id, variant=variant, viewer_id=viewer_id)
        assert token == signing.dumps(
            {"v": video_id, "k": variant, "u": viewer_id}, salt="generation.video-content", compress=False
        )
        assert media.content_token_viewer(token=token, video_id=video_id, variant=variant) == viewer_id
        assert media.content_token_viewer(token=token, video_id=video_id + 1, variant=variant) is None


def test_content_token_follows_the_secret_key(frozen_time):
    before = media.content_token(video_id=5, variant="video", viewer_id=9)
    with override_settings(SECRET_KEY="another-secret-key-" + "y" * 40):
        after = media.content_token(video_id=5, variant="video", viewer_id=9)
        assert after != before
        assert media.content_token_viewer(token=after, video_id=5, variant="video") == 9
        assert media.content_token_viewer(token=before, video_id=5, variant="video") is None


def test_page_url_maker_gives_content_urls(frozen_time):
    request = APIRequestFactory().get("/api/v1/feed/following", HTTP_HOST="localhost:8000", secure=True)
    assert media.content_url_origin(request) == "https://localhost:8000"
    assert media.content_url_origin(None) is None
    urls = media.ContentUrls(request)
    for variant in media.VARIANTS:
        url = urls.url(video_id=3, variant=variant, viewer_id=4)
        assert url == media.content_url(video_id=3, variant=variant, viewer_id=4, request=request)
        assert url == request.build_absolute_uri(
            f"/api/v1/videos/3/content?variant={variant}&token="
            + media.content_token(video_id=3, variant=variant, viewer_id=4)
        )
    bare = media.ContentUrls(None).url(video_id=3, variant="video", viewer_id=4)
    assert bare == media.content_url(video_id=3, variant="video", viewer_id=4)
    assert bare.startswith("/api/v1/videos/3/content?variant=video&token=")
