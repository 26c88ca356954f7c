import pytest

from sora_social.notifications.models import Notification
from sora_social.users.models import Block, Follow
from tests.users.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


def test_follow_and_unfollow(client_for):
    alice, bob = UserFactory(handle="alice"), UserFactory(handle="bob")
    api = client_for(alice)
    assert api.post("/api/v1/users/bob/follow").status_code == 204
    assert api.post("/api/v1/users/BOB/follow").status_code == 204  # idempotent, case-insensitive
    assert Follow.objects.filter(follower=alice, followee=bob).count() == 1
    profile = api.get("/api/v1/users/bob").json()
    assert profile["relationship"] == {"following": True, "followed_by": False, "friends": False, "blocking": False}
    assert profile["followers_count"] == 1
    assert Notification.objects.filter(recipient=bob, kind="new_follower", actor=alice).count() == 1

    assert api.delete("/api/v1/users/bob/follow").status_code == 204
    assert not Follow.objects.exists()


def test_cannot_follow_self(client_for):
    alice = UserFactory(handle="alice")
    response = client_for(alice).post("/api/v1/users/alice/follow")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cannot_follow_self"


def test_database_refuses_self_follow_and_duplicate_pairs():
    from django.db import IntegrityError, transaction

    alice, bob = UserFactory(), UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=alice)
    Follow.objects.create(follower=alice, followee=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(blocker=bob, blocked=bob)


def test_friends_are_mutual_follows(client_for):
    alice, bob, carol = UserFactory(handle="alice"), UserFactory(handle="bob"), UserFactory(handle="carol")
    make_friends(alice, bob)
    Follow.objects.create(follower=alice, followee=carol)  # one-way: not a friend
    friends = client_for(carol).get("/api/v1/users/alice/friends").json()
    assert [row["user"]["handle"] for row in friends["results"]] == ["bob"]
    assert client_for(bob).get("/api/v1/users/alice").json()["relationship"]["friends"] is True


def test_block_removes_follows_both_ways_and_hides_both_people(client_for):
    alice, bob = UserFactory(handle="alice"), UserFactory(handle="bob")
    make_friends(alice, bob)
    alice_api, bob_api = client_for(alice), client_for(bob)

    assert alice_api.post("/api/v1/users/bob/block").status_code == 204
    assert not Follow.objects.filter(follower__in=[alice, bob], followee__in=[alice, bob]).exists()

    # The blocked user cannot see the blocker's profile, nor follow them.
    hidden = bob_api.get("/api/v1/users/alice")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "user_not_found"
    assert bob_api.post("/api/v1/users/alice/follow").status_code == 404
    # ...and the blocker does not see the blocked either.
    assert alice_api.get("/api/v1/users/bob").status_code == 404
    assert not Follow.objects.exists()

    blocks = alice_api.get("/api/v1/me/blocks").json()
    assert [row["user"]["handle"] for row in blocks["results"]] == ["bob"]

    assert alice_api.delete("/api/v1/users/bob/block").status_code == 204
    assert bob_api.get("/api/v1/users/alice").status_code == 200


def test_blocked_people_vanish_from_follower_lists(client_for):
    star, fan, troll = UserFactory(handle="star"), UserFactory(handle="fan"), UserFactory(handle="troll")
    Follow.objects.create(follower=fan, followee=star)
    Follow.objects.create(follower=troll, followee=star)
    Block.objects.create(blocker=fan, blocked=troll)
    seen_by_fan = client_for(fan).get("/api/v1/users/star/followers").json()
    assert [row["user"]["handle"] for row in seen_by_fan["results"]] == ["fan"]


def test_a_blocked_user_following_is_refused_by_the_service():
    from sora_social.common.errors import ApplicationError
    from sora_social.users.services import follow_create

    alice, bob = UserFactory(), UserFactory()
    Block.objects.create(blocker=alice, blocked=bob)
    with pytest.raises(ApplicationError) as refused:
        follow_create(follower=bob, followee=alice)
    assert refused.value.code == "blocked"
    assert refused.value.status_code == 403


def test_follower_pagination_is_stable_while_new_followers_arrive(client_for):
    star = UserFactory(handle="star")
    fans = [UserFactory() for _ in range(7)]
    for fan in fans:
        Follow.objects.create(follower=fan, followee=star)
    api = client_for(star)
    seen: list[str] = []
    page = api.get("/api/v1/users/star/followers", {"limit": 3}).json()
    seen += [r["user"]["handle"] for r in page["results"]]
    # New followers arrive between page reads: they are newer than the cursor, so they
    # neither shift nor repeat what comes next.
    for _ in range(2):
        Follow.objects.create(follower=UserFactory(), followee=star)
    while page["next_cursor"]:
        page = api.get("/api/v1/users/star/followers", {"limit": 3, "cursor": page["next_cursor"]}).json()
        seen += [r["user"]["handle"] for r in page["results"]]
    assert seen == [f.handle for f in reversed(fans)]
    assert len(seen) == len(set(seen))


def test_bad_cursor_and_limit_are_400(api, user):
    assert (
        api.get(f"/api/v1/users/{user.handle}/followers", {"cursor": "zzz"}).json()["error"]["code"] == "invalid_cursor"
    )
    assert api.get(f"/api/v1/users/{user.handle}/followers", {"limit": 0}).json()["error"]["code"] == "invalid_limit"


def test_profile_update(api, user):
    response = api.patch(
        "/api/v1/me", {"display_name": "New Name", "bio": "I make videos", "timezone": "Europe/Paris"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "New Name"
    assert response.json()["timezone"] == "Europe/Paris"
    bad = api.patch("/api/v1/me", {"timezone": "Mars/Olympus"}, format="json")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_timezone"


def test_handle_change_checks_uniqueness(client_for):
    UserFactory(handle="taken")
    me = UserFactory(handle="mine")
    response = client_for(me).patch("/api/v1/me", {"handle": "TAKEN"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "handle_taken"
    me.refresh_from_db()
    assert me.handle == "mine"


def test_avatar_upload_must_be_an_image(api):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    not_image = SimpleUploadedFile("avatar.png", b"definitely not a png", content_type="image/png")
    response = api.patch("/api/v1/me", {"avatar": not_image}, format="multipart")
    assert response.status_code == 400

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(buffer, format="PNG")
    good = SimpleUploadedFile("avatar.png", buffer.getvalue(), content_type="image/png")
    response = api.patch("/api/v1/me", {"avatar": good}, format="multipart")
    assert response.status_code == 200
    assert response.json()["avatar_url"]
