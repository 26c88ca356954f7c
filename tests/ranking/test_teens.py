"""Minors: a daily for-you limit with no scrolling past it, and no ranking by watch time."""

from __future__ import annotations

import pytest

from tests.ranking.conftest import make_post
from tests.users.factories import MinorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.FEED_RANKING = {**settings.FEED_RANKING, "TEEN_DAILY_LIMIT": 7}


def test_a_teen_reaches_the_daily_limit_and_the_scroll_stops(client_for, small_limit):
    teen = MinorFactory()
    for _ in range(20):
        make_post(UserFactory(), topic="kids")
    client = client_for(teen)
    first = client.get("/api/v1/feed/for-you", {"limit": 5}).json()
    assert len(first["results"]) == 5
    assert first["daily_limit"]["limit"] == 7 and first["daily_limit"]["used"] == 5
    assert first["daily_limit"]["remaining"] == 2 and first["next_cursor"]
    second = client.get("/api/v1/feed/for-you", {"limit": 5, "cursor": first["next_cursor"]}).json()
    # Only what is left of the day is served, and no cursor to keep scrolling.
    assert len(second["results"]) == 2
    assert second["limit_reached"] is True and second["next_cursor"] is None
    # Asking again (or with an old cursor) gets nothing until the local midnight.
    again = client.get("/api/v1/feed/for-you", {"cursor": first["next_cursor"]}).json()
    assert again["results"] == [] and again["limit_reached"] is True and again["next_cursor"] is None
    assert again["daily_limit"]["remaining"] == 0 and again["daily_limit"]["resets_at"]
    # Chronological feeds are not for-you: they stay available.
    assert client.get("/api/v1/feed/latest").status_code == 200


def test_the_limit_counts_the_teens_local_day(client_for, small_limit):
    teen = MinorFactory(timezone="Pacific/Auckland")
    make_post(UserFactory(), topic="kids")
    body = client_for(teen).get("/api/v1/feed/for-you").json()
    from datetime import datetime

    resets = datetime.fromisoformat(body["daily_limit"]["resets_at"].replace("Z", "+00:00"))
    from zoneinfo import ZoneInfo

    local = resets.astimezone(ZoneInfo("Pacific/Auckland"))
    assert (local.hour, local.minute) == (0, 0)


def test_adults_have_no_limit(client_for, small_limit):
    adult = UserFactory()
    for _ in range(12):
        make_post(UserFactory(), topic="kids")
    client = client_for(adult)
    body = client.get("/api/v1/feed/for-you", {"limit": 10}).json()
    assert len(body["results"]) == 10 and body["daily_limit"] is None and body["next_cursor"]


def test_minors_are_not_ranked_by_watch_time(client_for):
    teen, adult = MinorFactory(), UserFactory()
    for _ in range(3):
        make_post(UserFactory(), topic="science")
    teen_items = client_for(teen).get("/api/v1/feed/for-you", {"explain": 1}).json()["results"]
    adult_items = client_for(adult).get("/api/v1/feed/for-you", {"explain": 1}).json()["results"]
    # Watch time is no term of anyone's value: a teen and an adult with the same (empty) history
    # get the same scores for the same posts.
    teen_scores = {r["post"]["id"]: r["explain"]["score"] for r in teen_items}
    adult_scores = {r["post"]["id"]: r["explain"]["score"] for r in adult_items}
    assert teen_scores and teen_scores.keys() == adult_scores.keys()
    assert all(teen_scores[p] == pytest.approx(adult_scores[p], abs=1e-4) for p in teen_scores)
    assert all("watch" not in r["explain"]["value"] for r in teen_items + adult_items)


def test_a_teen_can_turn_personalisation_off(client_for):
    teen = MinorFactory()
    body = client_for(teen).put("/api/v1/feed/preferences", {"personalized": False}, format="json").json()
    assert body["personalized"] is False and body["is_minor"] is True
    assert body["daily_limit"]["remaining"] == body["daily_limit"]["limit"]
