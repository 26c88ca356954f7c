"""POST /api/v1/events: batches of up to 500, each event validated, retries deduplicated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from feed.models import EngagementEvent
from feed.serializers import EventBatchOutputSerializer
from tests.feed.factories import PostFactory
from tests.feed.shapes import assert_shape
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _id() -> str:
    return str(uuid.uuid4())


def test_a_partly_bad_batch_stores_the_good_and_lists_the_bad(client_for):
    user = UserFactory()
    post = PostFactory()
    private = PostFactory(visibility="private")
    now = datetime.now(UTC)
    good = [
        {
            "id": _id(),
            "type": "impression",
            "post_id": post.pk,
            "surface": "for_you",
            "position": 3,
            "propensity": 0.25,
        },
        {"id": _id(), "type": "view", "post_id": post.pk, "watch_ms": 5300, "completion": 0.75, "at": now.isoformat()},
        {"id": _id(), "type": "remix_started", "post_id": post.pk},
        {"id": _id(), "type": "report", "post_id": post.pk, "at": (now - timedelta(days=2)).isoformat()},
    ]
    bad = [
        ({"id": "not-a-uuid", "type": "like", "post_id": post.pk}, "invalid_id"),
        ({"id": _id(), "type": "stare", "post_id": post.pk}, "invalid_type"),
        ({"id": _id(), "type": "view", "post_id": post.pk, "completion": 0.5}, "invalid_watch_ms"),
        ({"id": _id(), "type": "view", "post_id": post.pk, "watch_ms": 10, "completion": 1.5}, "invalid_completion"),
        ({"id": _id(), "type": "like", "post_id": post.pk, "watch_ms": 10}, "unexpected_field"),
        ({"id": _id(), "type": "like", "post_id": -4}, "invalid_post_id"),
        ({"id": _id(), "type": "like", "post_id": 10**12}, "post_not_found"),
        ({"id": _id(), "type": "like", "post_id": private.pk}, "post_not_found"),
        ({"id": _id(), "type": "like", "post_id": post.pk, "at": "yesterday"}, "invalid_time"),
        ({"id": _id(), "type": "like", "post_id": post.pk, "at": "2026-01-01T00:00:00"}, "invalid_time"),
        (
            {"id": _id(), "type": "like", "post_id": post.pk, "at": (now + timedelta(hours=1)).isoformat()},
            "time_in_future",
        ),
        (
            {"id": _id(), "type": "like", "post_id": post.pk, "at": (now - timedelta(days=30)).isoformat()},
            "time_too_old",
        ),
        ({"id": _id(), "type": "like", "post_id": post.pk, "surface": "tv"}, "invalid_surface"),
        ({"id": _id(), "type": "like", "post_id": post.pk, "mood": "happy"}, "unknown_field"),
        ({"id": _id(), "type": "impression", "post_id": post.pk, "propensity": 0}, "invalid_propensity"),
        ({"id": _id(), "type": "impression", "post_id": post.pk, "propensity": 1.5}, "invalid_propensity"),
        ({"id": _id(), "type": "like", "post_id": post.pk, "propensity": 0.5}, "unexpected_field"),
        ("just a string", "invalid_event"),
    ]
    batch = good[:2] + [b for b, _ in bad] + good[2:]
    response = client_for(user).post("/api/v1/events", {"events": batch}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_shape(EventBatchOutputSerializer, body)
    assert body["received"] == len(batch)
    assert body["accepted"] == len(good)
    assert body["duplicate_ids"] == []
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(i + 2, code) for i, (_, code) in enumerate(bad)]
    assert all(r["message"] for r in body["rejected"])

    stored = {str(e.event_id): e for e in EngagementEvent.objects.filter(user=user)}
    assert set(stored) == {e["id"] for e in good}
    view = stored[good[1]["id"]]
    assert view.type == 2 and view.watch_ms == 5300 and view.completion == pytest.approx(0.75)
    assert abs((view.occurred_at - now).total_seconds()) < 0.001
    impression = stored[good[0]["id"]]
    assert (impression.surface, impression.position, impression.watch_ms) == (1, 3, None)
    assert impression.propensity == pytest.approx(0.25) and view.propensity is None


def test_retries_are_stored_once(client_for):
    user = UserFactory()
    post = PostFactory()
    batch = [{"id": _id(), "type": "impression", "post_id": post.pk} for _ in range(5)]
    client = client_for(user)
    first = client.post("/api/v1/events", {"events": batch}, format="json").json()
    assert first["accepted"] == 5
    # The client did not see the answer and sends everything again, plus one new event and
    # one sent twice in the same batch.
    extra = {"id": _id(), "type": "like", "post_id": post.pk}
    second = client.post("/api/v1/events", {"events": [*batch, extra, extra]}, format="json").json()
    assert second["accepted"] == 1
    assert sorted(second["duplicate_ids"]) == sorted([e["id"] for e in batch] + [extra["id"]])
    assert second["rejected"] == []
    assert EngagementEvent.objects.filter(user=user).count() == 6


def test_the_same_event_id_from_two_users_is_two_events(client_for):
    post = PostFactory()
    shared = _id()
    for _ in range(2):
        body = client_for(UserFactory()).post(
            "/api/v1/events", {"events": [{"id": shared, "type": "impression", "post_id": post.pk}]}, format="json"
        )
        assert body.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"events": "nope"}, "invalid_batch"),
        ({"nothing": []}, "invalid_batch"),
        ([1, 2, 3], "invalid_batch"),
    ],
)
def test_a_malformed_envelope_is_refused_whole(client_for, payload, code):
    response = client_for(UserFactory()).post("/api/v1/events", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_at_most_500_events_a_call(client_for):
    post = PostFactory()
    client = client_for(UserFactory())
    ok = client.post(
        "/api/v1/events",
        {"events": [{"id": _id(), "type": "impression", "post_id": post.pk} for _ in range(500)]},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == 500
    too_many = client.post(
        "/api/v1/events",
        {"events": [{"id": _id(), "type": "impression", "post_id": post.pk} for _ in range(501)]},
        format="json",
    )
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "batch_too_large"


def test_events_need_a_token(anon_client):
    assert anon_client.post("/api/v1/events", {"events": []}, format="json").status_code == 401


def test_the_log_is_compact_and_scannable_by_time():
    """The storage shape docs/posts.md promises: small ints, the dedupe key, BRIN on time, and
    one covering b-tree for a viewer's recent events."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'feed_engagementevent'"
        )
        columns = dict(cursor.fetchall())
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'feed_engagementevent'")
        indexes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'feed_engagementevent'::regclass AND contype = 'f'"
        )
        foreign_keys = cursor.fetchone()[0]
    assert columns["type"] == "smallint" and columns["surface"] == "smallint"
    assert columns["completion"] == "real" and columns["watch_ms"] == "integer"
    assert columns["user_id"] == "bigint" and columns["post_id"] == "bigint" and columns["event_id"] == "uuid"
    assert len(indexes) == 3
    assert any("USING brin (received_at)" in d for d in indexes.values())
    assert any("UNIQUE" in d and "(user_id, event_id)" in d for d in indexes.values())
    assert (
        "(user_id, received_at) INCLUDE (type, post_id, occurred_at, completion, watch_ms)"
        in indexes["event_user_recent"]
    )
    assert foreign_keys == 0  # no per-row referential checks on the hot insert


def test_a_deleted_account_takes_its_events_with_it(client_for):
    user, other = UserFactory(), UserFactory()
    post = PostFactory()
    for who in (user, other):
        client_for(who).post(
            "/api/v1/events", {"events": [{"id": _id(), "type": "impression", "post_id": post.pk}]}, format="json"
        )
    user.delete()
    assert list(EngagementEvent.objects.values_list("user_id", flat=True)) == [other.pk]
