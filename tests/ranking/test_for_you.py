"""For-you: explain, friends first, seen memory, sessions and cursors, fatigue, first posts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feed.models import Hide
from feed.ranking import store
from tests.ranking.conftest import make_post
from tests.users.factories import FollowFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db


def page(client, **params) -> dict:
    response = client.get("/api/v1/feed/for-you", params)
    assert response.status_code == 200, response.content
    return response.json()


def post_ids(body: dict) -> list[int]:
    return [r["post"]["id"] for r in body["results"] if r["type"] == "post"]


def scroll_all(client, limit: int = 5) -> list[int]:
    shown, cursor = [], None
    for _ in range(100):
        body = page(client, limit=limit, **({"cursor": cursor} if cursor else {}))
        shown += post_ids(body)
        cursor = body["next_cursor"]
        if not cursor:
            break
    return shown


def test_explain_shows_source_and_score_parts(client_for):
    ava, ben, cleo = UserFactory(), UserFactory(), UserFactory()
    make_friends(ava, ben)
    make_post(ben, topic="anime")
    make_post(UserFactory(), topic="sports")
    plain = page(client_for(cleo))
    assert plain["results"] and all(r["explain"] is None for r in plain["results"])
    assert plain["limit_reached"] is False and plain["daily_limit"] is None and plain["personalized"] is True
    body = page(client_for(ava), explain=1)
    item = next(r for r in body["results"] if r["post"]["author"]["id"] == ben.pk)
    x = item["explain"]
    assert item["source"] == x["source"] == "friends"
    assert set(x["predicted"]) == {"remix", "create", "like", "hide", "watch_s"}
    assert set(x["value"]) == set(x["shares"]) == {"create", "remix", "friend", "new_creator", "hide"}
    assert x["value"]["friend"] > 0 and x["value"]["hide"] <= 0 and x["fatigue"] == 1.0
    assert sum(abs(v) for v in x["shares"].values()) == pytest.approx(1.0, abs=1e-3)
    assert x["rerank"]["position"] >= 1 and x["rerank"]["rank_by_score"] >= 1
    assert x["exploration"] == {"explored": False, "propensity": 1.0} and item["propensity"] == 1.0
    # The score is the sum of its parts.
    gain = sum(v for k, v in x["value"].items() if k != "hide")
    assert x["score"] == pytest.approx(gain * x["fatigue"] + x["value"]["hide"], abs=2e-3)
    # Post items have the same shape as everywhere else.
    assert set(item["post"]) >= {"id", "author", "video", "viewer", "remix_of", "remix_count"}


def test_friends_come_before_prolific_strangers(client_for):
    viewer, friend, star = UserFactory(), UserFactory(), UserFactory()
    make_friends(viewer, friend)
    FollowFactory(follower=viewer, followee=star)
    # A prolific followed account posts a lot (and well); a friend posts twice.
    for i in range(30):
        make_post(star, topic="movies", age=timedelta(minutes=i))
    mine = [make_post(friend, topic="cooking", age=timedelta(hours=5 + i)) for i in range(2)]
    for _ in range(10):
        make_post(UserFactory(), topic="travel", age=timedelta(hours=2))
    body = page(client_for(viewer), limit=10)
    ids = post_ids(body)
    assert {p.pk for p in mine} <= set(ids[:5])
    # ... and the prolific account does not fill the page (two at most while others exist).
    authors = [r["post"]["author"]["id"] for r in body["results"]]
    assert authors.count(star.pk) <= 2


def test_a_first_post_reaches_the_authors_friends(client_for):
    viewer, newcomer = UserFactory(), UserFactory()
    make_friends(viewer, newcomer)
    for _ in range(15):
        make_post(UserFactory(), topic="memes")  # busy strangers
    first = make_post(newcomer, topic="pets", age=timedelta(hours=20))
    body = page(client_for(viewer), explain=1, limit=5)
    assert post_ids(body)[0] == first.pk
    terms = body["results"][0]["explain"]["value"]
    assert terms["friend"] > 0 and terms["new_creator"] > 0  # a friend's post, and a new creator's


def test_scroll_never_repeats_and_seen_posts_stay_out(client_for):
    viewer = UserFactory()
    for _ in range(12):
        make_post(UserFactory(), topic="travel")
    client = client_for(viewer)
    first = scroll_all(client, limit=5)
    assert len(first) == 12 and len(set(first)) == 12
    # New posts arrive; a fresh scroll shows them and not what was seen.
    fresh = {make_post(UserFactory(), topic="travel").pk for _ in range(3)}
    again = scroll_all(client, limit=5)
    assert set(again) == fresh
    # After the seen memory expires the old ones may come back.
    store.client().delete(store.key("seen", viewer.pk))
    assert set(scroll_all(client, limit=50)) >= set(first)


def test_pages_of_a_session_are_a_frozen_list(client_for, settings):
    settings.FEED_RANKING = {**settings.FEED_RANKING, "RERANK": {**settings.FEED_RANKING["RERANK"], "max_items": 6}}
    viewer = UserFactory()
    for _ in range(10):
        make_post(UserFactory(), topic="art")
    client = client_for(viewer)
    p1 = page(client, limit=4)
    for _ in range(5):  # arrivals between pages do not shift the list
        make_post(UserFactory(), topic="art")
    p2 = page(client, limit=4, cursor=p1["next_cursor"])
    p3 = page(client, limit=4, cursor=p2["next_cursor"])
    ids = post_ids(p1) + post_ids(p2) + post_ids(p3)
    assert len(ids) == len(set(ids))
    # p2 finished the first six-item list; p3 came from a new list (more posts exist).
    assert len(post_ids(p1)) == 4 and len(post_ids(p2)) == 2 and post_ids(p3)


def test_another_users_cursor_does_not_open_their_list(client_for):
    ava, ben = UserFactory(), UserFactory()
    for _ in range(8):
        make_post(UserFactory(), topic="gaming")
    ava_page = page(client_for(ava), limit=3)
    ben_page = page(client_for(ben), limit=3, cursor=ava_page["next_cursor"])
    # Ben gets his own fresh list (from the top), not the rest of Ava's.
    assert post_ids(ben_page)[:3] != [] and set(post_ids(ben_page)).isdisjoint(set()) is True
    response = client_for(ben).get("/api/v1/feed/for-you", {"cursor": "W1siYSJdXQ"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_cursor"


def test_hiding_an_author_demotes_their_other_posts(client_for):
    viewer, loud, quiet = UserFactory(), UserFactory(), UserFactory()
    loud_posts = [make_post(loud, topic="comedy") for _ in range(3)]
    quiet_posts = [make_post(quiet, topic="comedy") for _ in range(3)]
    Hide.objects.create(user=viewer, post=loud_posts[0])
    body = page(client_for(viewer), explain=1, limit=10)
    by_author = {}
    for r in body["results"]:
        by_author.setdefault(r["post"]["author"]["id"], []).append(r["explain"])
    assert loud_posts[0].pk not in post_ids(body)
    assert all(x["fatigue"] < 0.3 for x in by_author[loud.pk])
    assert all(x["fatigue"] == 1.0 for x in by_author[quiet.pk])
    assert max(x["score"] for x in by_author[loud.pk]) < min(x["score"] for x in by_author[quiet.pk])
    assert {p.pk for p in quiet_posts} <= set(post_ids(body))


def test_non_personalised_feed_forgets_the_viewer(client_for):
    viewer, friend = UserFactory(), UserFactory()
    make_friends(viewer, friend)
    make_post(friend, topic="dance")
    make_post(UserFactory(), topic="dance")
    client = client_for(viewer)
    assert (
        client.put("/api/v1/feed/preferences", {"personalized": False}, format="json").json()["personalized"] is False
    )
    body = page(client, explain=1)
    assert body["personalized"] is False
    assert {r["source"] for r in body["results"]} <= {"trending", "fresh"}
    # Nobody is anyone's friend here: no friend term.
    assert all(r["explain"]["value"]["friend"] == 0 for r in body["results"])
    assert all(r["explain"]["steer"] == 0 for r in body["results"])
    assert client.get("/api/v1/feed/preferences").json() == {
        "personalized": False,
        "is_minor": False,
        "daily_limit": None,
    }


def test_for_you_query_count_is_pinned(client_for, django_assert_max_num_queries):
    viewer = UserFactory()
    for _ in range(4):
        friend = UserFactory()
        make_friends(viewer, friend)
        make_post(friend, topic="music")
    for _ in range(8):
        make_post(UserFactory(), topic="music")
    client = client_for(viewer)
    client.get("/api/v1/feed/preferences")  # warm per-process caches
    # First page: auth 2, preference 1, profile 6, sources 6, candidates 1, page rows 3,
    # lineage 1, nudge check 1.
    with django_assert_max_num_queries(22):
        first = page(client, limit=5)
    # Next pages read the frozen list from Redis: auth, rows (+ cameos), lineage, nudge check.
    with django_assert_max_num_queries(7):
        page(client, limit=5, cursor=first["next_cursor"])


def _stages(response) -> dict[str, float]:
    parts = [p.strip().split(";dur=") for p in response["Server-Timing"].split(",")]
    return {name: float(ms) for name, ms in parts}


def test_server_timing_names_where_a_page_spent_its_time(client_for):
    ava = UserFactory()
    for _ in range(8):
        make_post(UserFactory(), topic="anime")
    client = client_for(ava)
    first = client.get("/api/v1/feed/for-you", {"limit": 3})
    assert first.status_code == 200
    built = _stages(first)
    # The first page builds the session; every stage is there, and the view's wall time is
    # at least the stages it ran one after another.
    assert {"app", "cpu", "total", "profile", "sources", "candidates", "rank", "store", "hydrate"} <= set(built)
    assert built["app"] >= built["profile"] + built["sources"] + built["candidates"] + built["rank"]
    assert built["total"] >= built["app"]
    later = client.get("/api/v1/feed/for-you", {"limit": 3, "cursor": first.json()["next_cursor"]})
    sliced = _stages(later)
    assert "slice" in sliced and "hydrate" in sliced
    assert not {"profile", "sources", "candidates", "rank"} & set(sliced)


def test_explored_slots_carry_the_probability_of_what_was_shown(client_for, settings):
    settings.FEED_RANKING = {**settings.FEED_RANKING, "EXPLORE_SHARE": 1.0}
    viewer = UserFactory()
    for _ in range(8):
        make_post(UserFactory(), topic="travel")
    body = page(client_for(viewer), explain=1, limit=8)
    items = body["results"]
    assert len(items) == 8
    # Every slot drawn at random from what was left: 1/8, 1/7, ... 1/1.
    assert [round(1 / r["propensity"]) for r in items] == list(range(8, 0, -1))
    assert all(r["explain"]["exploration"]["explored"] for r in items)
    assert all(r["propensity"] == r["explain"]["exploration"]["propensity"] for r in items)
