"""Creation nudges: the rule, and the unit the feed inserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feed.models import EventType
from feed.ranking import topics
from feed.ranking.nudges import WatchedPost, pick_nudge, remix_prompt
from tests.ranking.conftest import log_events, make_post
from tests.users.factories import UserFactory

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
ANIME, SPORTS = topics.LABELS.index("anime"), topics.LABELS.index("sports")


def watched(post_id: int, topic: int, minutes: int, remixable: bool = True) -> WatchedPost:
    return WatchedPost(post_id=post_id, topic=topic, at=T0 + timedelta(minutes=minutes), remixable=remixable)


def test_rule_needs_several_posts_of_one_topic():
    views = [watched(i, ANIME, i) for i in range(3)] + [watched(10, SPORTS, 5)]
    assert pick_nudge(views, last_created_at=None, threshold=4) is None
    views.append(watched(3, ANIME, 6))
    choice = pick_nudge(views, last_created_at=None, threshold=4)
    assert choice is not None and choice.topic == ANIME and choice.watched == 4
    assert choice.post_id == 3  # the most recently watched one


def test_rule_counts_only_views_since_the_last_creation_and_distinct_posts():
    views = [watched(i, ANIME, i) for i in range(4)]
    assert pick_nudge(views, last_created_at=T0 + timedelta(minutes=1, seconds=30), threshold=4) is None
    assert pick_nudge([watched(1, ANIME, m) for m in range(6)], last_created_at=None, threshold=4) is None


def test_rule_offers_a_remixable_post_and_skips_nudged_topics():
    views = [watched(i, ANIME, i, remixable=i == 1) for i in range(4)]
    assert pick_nudge(views, last_created_at=None, threshold=4).post_id == 1
    assert pick_nudge(views, last_created_at=None, threshold=4, exclude_topics={ANIME}) is None
    none_remixable = [watched(i, ANIME, i, remixable=False) for i in range(4)]
    assert pick_nudge(none_remixable, last_created_at=None, threshold=4) is None


def test_remix_prompt_is_ready_to_send():
    prompt = remix_prompt(caption="A  samurai cat\\nat dawn", topic_label="anime", cameo_name="ava")
    assert "samurai cat" in prompt and "@ava" in prompt and "anime" in prompt
    assert "starring me" in remix_prompt(caption="", topic_label="food_review", cameo_name=None)


@pytest.mark.django_db
def test_the_feed_inserts_a_nudge_once_per_session(client_for):
    viewer = UserFactory()
    anime = [make_post(UserFactory(), topic="anime", caption=f"anime clip {i}") for i in range(4)]
    for _ in range(30):
        make_post(UserFactory(), topic="sports")
    client = client_for(viewer)
    first = client.get("/api/v1/feed/for-you", {"limit": 10}).json()
    assert all(r["type"] == "post" for r in first["results"])  # nothing watched yet
    now = datetime.now(UTC)
    log_events(
        viewer,
        [(p.pk, EventType.VIEW, {"watch_ms": 9000, "completion": 0.9, "occurred_at": now}) for p in anime],
    )
    second = client.get("/api/v1/feed/for-you", {"limit": 10, "cursor": first["next_cursor"]}).json()
    nudges = [r for r in second["results"] if r["type"] == "nudge"]
    assert len(nudges) == 1 and second["results"].index(nudges[0]) == 3
    nudge = nudges[0]["nudge"]
    assert nudge["kind"] == "make_your_own" and nudge["topic"] == "anime" and nudge["watched"] == 4
    assert nudge["post_id"] in {p.pk for p in anime} and "anime clip" in nudge["remix_prompt"]
    assert nudges[0]["post"] is None and nudges[0]["source"] == "nudge"
    # Capped per session: the next page of the same scroll has none.
    third = client.get("/api/v1/feed/for-you", {"limit": 10, "cursor": second["next_cursor"]}).json()
    assert not [r for r in third["results"] if r["type"] == "nudge"]


@pytest.mark.django_db
def test_no_nudge_after_the_viewer_created(client_for):
    viewer = UserFactory()
    anime = [make_post(UserFactory(), topic="anime") for _ in range(4)]
    for _ in range(12):
        make_post(UserFactory(), topic="sports")
    watched_at = datetime.now(UTC) - timedelta(minutes=10)
    log_events(
        viewer,
        [(p.pk, EventType.VIEW, {"watch_ms": 9000, "completion": 0.9, "occurred_at": watched_at}) for p in anime],
    )
    make_post(viewer, topic="anime")  # they made one since
    body = client_for(viewer).get("/api/v1/feed/for-you", {"limit": 10}).json()
    assert not [r for r in body["results"] if r["type"] == "nudge"]
