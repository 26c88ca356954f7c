import asyncio
import queue
import threading

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import transaction

from sora_social.notifications.models import Notification
from sora_social.notifications.services import (
    notifications_hide_for_target,
    notifications_unhide_for_target,
    notify,
    user_group,
)
from sora_social.users.models import Block
from tests.feed.factories import PostFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seq_is_gap_free_per_recipient():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    for actor in (bob, carol, bob):
        notify(recipient=alice, kind="comment", actor=actor, data={"excerpt": "nice"})
    notify(recipient=bob, kind="comment", actor=carol, data={"excerpt": "hi"})
    assert list(Notification.objects.filter(recipient=alice).order_by("seq").values_list("seq", flat=True)) == [1, 2, 3]
    assert list(Notification.objects.filter(recipient=bob).values_list("seq", flat=True)) == [1]


def test_likes_aggregate_into_one_visible_notification(client_for):
    author = UserFactory()
    post = PostFactory(author=author)
    likers = [UserFactory(handle=f"liker{i}") for i in range(13)]
    for liker in likers:
        notify(recipient=author, kind="likes", actor=liker, group_key=f"likes:post:{post.pk}", target=("post", post.pk))
    listed = client_for(author).get("/api/v1/notifications").json()["results"]
    assert len(listed) == 1
    assert listed[0]["text"] == "@liker12 and 12 others liked your post"
    assert listed[0]["data"]["count"] == 13
    assert listed[0]["replaces_seq"] == 12


def test_after_reading_aggregation_starts_again(client_for):
    author, a, b = UserFactory(), UserFactory(handle="aa1"), UserFactory(handle="bb1")
    notify(recipient=author, kind="likes", actor=a, group_key="likes:post:1")
    client_for(author).post("/api/v1/notifications/mark-read", {"all": True}, format="json")
    fresh = notify(recipient=author, kind="likes", actor=b, group_key="likes:post:1")
    assert fresh.text == "@bb1 liked your post"


def test_nobody_is_notified_of_their_own_action_or_by_someone_blocked():
    alice, bob = UserFactory(), UserFactory()
    assert notify(recipient=alice, kind="comment", actor=alice) is None
    Block.objects.create(blocker=alice, blocked=bob)
    assert notify(recipient=alice, kind="comment", actor=bob) is None
    assert not Notification.objects.exists()


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        notify(recipient=UserFactory(), kind="nonsense")


def test_unread_count_and_mark_read(client_for):
    alice, bob = UserFactory(), UserFactory()
    for _ in range(3):
        notify(recipient=alice, kind="comment", actor=bob, data={"excerpt": "x"})
    api = client_for(alice)
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread_count": 3, "last_seq": 3}
    assert api.post("/api/v1/notifications/mark-read", {"seqs": [1]}, format="json").json() == {"marked": 1}
    assert api.post("/api/v1/notifications/mark-read", {"up_to_seq": 2}, format="json").json() == {"marked": 1}
    assert api.get("/api/v1/notifications/unread-count").json()["unread_count"] == 1
    assert api.get("/api/v1/notifications", {"unread": "true"}).json()["results"][0]["seq"] == 3
    empty = api.post("/api/v1/notifications/mark-read", {}, format="json")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "nothing_to_mark"
    no_body = api.post("/api/v1/notifications/mark-read")
    assert no_body.status_code == 400 and no_body.json()["error"]["code"] == "nothing_to_mark"
    # Which the schema says: a body is required and holds at least one field.
    operation = api.get("/api/schema/?format=json").json()["paths"]["/api/v1/notifications/mark-read"]["post"]
    assert operation["requestBody"]["required"] is True


def test_a_user_never_sees_another_users_notifications(client_for):
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    notify(recipient=alice, kind="comment", actor=carol, data={"excerpt": "secret"})
    api = client_for(bob)
    assert api.get("/api/v1/notifications").json()["results"] == []
    assert api.post("/api/v1/notifications/mark-read", {"all": True}, format="json").json() == {"marked": 0}
    assert Notification.objects.get(recipient=alice).read_at is None


def test_hidden_targets_leave_the_list_and_come_back_on_restore(client_for):
    alice, bob = UserFactory(), UserFactory()
    post = PostFactory(author=alice)
    notify(recipient=alice, kind="post_remixed", actor=bob, target=("post", post.pk))
    api = client_for(alice)
    assert len(api.get("/api/v1/notifications").json()["results"]) == 1
    notifications_hide_for_target(target_type="post", target_id=post.pk)
    assert api.get("/api/v1/notifications").json()["results"] == []
    notifications_unhide_for_target(target_type="post", target_id=post.pk)
    assert len(api.get("/api/v1/notifications").json()["results"]) == 1


def test_blocking_later_hides_earlier_notifications(client_for):
    alice, bob = UserFactory(), UserFactory()
    notify(recipient=alice, kind="comment", actor=bob, data={"excerpt": "hi"})
    Block.objects.create(blocker=bob, blocked=alice)
    assert client_for(alice).get("/api/v1/notifications").json()["results"] == []


class GroupListener:
    """Listens to one user's websocket group from a thread with its own event loop."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.messages: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        layer = RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
        channel = await layer.new_channel()
        await layer.group_add(user_group(self.user_id), channel)
        self.ready.set()
        try:
            while not self.stop.is_set():
                try:
                    self.messages.put(await asyncio.wait_for(layer.receive(channel), 0.2))
                except TimeoutError:
                    continue
        finally:
            await layer.group_discard(user_group(self.user_id), channel)

    def __enter__(self) -> "GroupListener":
        self.thread.start()
        assert self.ready.wait(5)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.mark.django_db(transaction=True)
def test_push_happens_only_after_commit_and_not_at_all_on_rollback():
    alice, bob = UserFactory(), UserFactory()
    with GroupListener(alice.pk) as listener:
        with transaction.atomic():
            notify(recipient=alice, kind="comment", actor=bob, data={"excerpt": "first"})
            with pytest.raises(queue.Empty):
                listener.messages.get(timeout=0.5)  # not yet: the transaction is still open
        message = listener.messages.get(timeout=3)
        assert message["type"] == "notification.stored"
        assert message["payload"]["data"]["excerpt"] == "first"

        with pytest.raises(RuntimeError), transaction.atomic():
            notify(recipient=alice, kind="comment", actor=bob, data={"excerpt": "rolled back"})
            raise RuntimeError("the use-case failed")
        with pytest.raises(queue.Empty):
            listener.messages.get(timeout=0.7)
    assert Notification.objects.filter(recipient=alice).count() == 1
