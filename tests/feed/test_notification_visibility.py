"""A notification about a post the recipient can no longer see is not shown (list, count, replay)."""

import pytest

from feed import services
from sora_social.notifications.selectors import notifications_after
from tests.feed.factories import PostFactory
from tests.users.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


def test_a_remix_made_private_leaves_the_parent_authors_notifications(client_for):
    parent_author, remixer = UserFactory(), UserFactory()
    make_friends(parent_author, remixer)
    parent = PostFactory(author=parent_author)
    remix = PostFactory(author=remixer, remix_of=parent)
    api = client_for(parent_author)

    listed = api.get("/api/v1/notifications").json()["results"]
    assert [n["kind"] for n in listed] == ["post_remixed"]
    assert api.get("/api/v1/notifications/unread-count").json()["unread_count"] == 1

    services.post_update(post=remix, by=remixer, visibility="private")

    assert api.get("/api/v1/notifications").json()["results"] == []
    assert api.get("/api/v1/notifications/unread-count").json()["unread_count"] == 0
    assert notifications_after(user=parent_author, after_seq=0) == []

    services.post_update(post=remix, by=remixer, visibility="public")
    assert len(api.get("/api/v1/notifications").json()["results"]) == 1
