"""A sample of for-you sessions keeps its candidate pool (ranking.PoolLog) for off-policy
evaluation: what the evaluator reads must be what the page served."""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from feed.ranking.models import PoolLog
from feed.ranking.selectors import pool_logs_since
from feed.ranking.services import for_you_rank, pool_log_write, pool_logs_prune
from sora_social.common.pagination import decode_cursor
from tests.ranking.conftest import make_post
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _share(settings, *, pool_log: float, explore: float) -> None:
    settings.FEED_RANKING = {**settings.FEED_RANKING, "POOL_LOG_SHARE": pool_log, "EXPLORE_SHARE": explore}


def test_a_sampled_session_keeps_its_pool_and_the_propensities_it_served(client_for, settings):
    _share(settings, pool_log=1.0, explore=0.5)  # half the slots random: propensities of every kind
    viewer = UserFactory()
    for topic in ("travel", "anime", "sports") * 5:
        make_post(UserFactory(), topic=topic)
    client = client_for(viewer)
    first = client.get("/api/v1/feed/for-you", {"limit": 6}).json()
    second = client.get("/api/v1/feed/for-you", {"limit": 6, "cursor": first["next_cursor"]}).json()
    served = [r for body in (first, second) for r in body["results"] if r["type"] == "post"]
    assert len(served) == 12

    (row,) = PoolLog.objects.filter(user_id=viewer.pk)  # one session, one row (a later page writes none)
    assert row.session == decode_cursor(first["next_cursor"])[1]
    assert row.explore_share == pytest.approx(0.5)
    assert len(set(row.candidates)) == len(row.candidates) == 15  # every candidate, once
    # Slot k of the list: its post and the propensity the response carried.
    for k, item in enumerate(served):
        assert row.candidates[row.shown[k]] == item["post"]["id"]
        assert row.propensity[k] == pytest.approx(item["propensity"], rel=1e-6)
    assert {r["post"]["id"] for r in served} <= set(row.candidates)
    # The selector hands the evaluator the same pool.
    (pool,) = [p for p in pool_logs_since(timezone.now() - timedelta(hours=1)) if p.user_id == viewer.pk]
    assert pool.candidates.tolist() == row.candidates and pool.shown.tolist() == row.shown


def test_the_pool_is_in_the_loggers_order(settings):
    _share(settings, pool_log=1.0, explore=0.0)
    viewer = UserFactory()
    for _ in range(9):
        make_post(UserFactory(), topic="music")
    ranked = for_you_rank(user=viewer, seed=3)
    # Without exploration every slot shows the logger's next candidate: slots 0, 1, 2, ...
    assert ranked.slots == list(range(len(ranked.post_ids)))
    assert ranked.pool[: len(ranked.post_ids)] == ranked.post_ids and sorted(ranked.pool) == sorted(set(ranked.pool))


def test_with_share_zero_no_pool_is_written(client_for, settings):
    _share(settings, pool_log=0.0, explore=0.5)
    viewer = UserFactory()
    for _ in range(6):
        make_post(UserFactory(), topic="pets")
    body = client_for(viewer).get("/api/v1/feed/for-you", {"limit": 4}).json()
    assert len(body["results"]) == 4
    assert not PoolLog.objects.exists()


def test_a_failed_write_is_logged_and_the_connection_stays_usable(settings, caplog):
    _share(settings, pool_log=1.0, explore=0.0)
    viewer = UserFactory()
    for _ in range(3):
        make_post(UserFactory(), topic="art")
    ranked = for_you_rank(user=viewer, seed=1)
    # A session id longer than the column: PostgreSQL refuses the row (a real failure).
    with caplog.at_level(logging.WARNING, logger="feed.ranking.services.pool_log"):
        assert pool_log_write(user_id=viewer.pk, session="x" * 40, at=timezone.now(), ranked=ranked) is None
    assert "not written" in caplog.text
    with connection.cursor() as c:  # the surrounding transaction is not broken
        c.execute("SELECT 1")
    assert not PoolLog.objects.exists()
    assert pool_log_write(user_id=viewer.pk, session="ok", at=timezone.now(), ranked=ranked) is not None


def test_old_pool_logs_are_pruned(settings):
    _share(settings, pool_log=1.0, explore=0.0)
    viewer = UserFactory()
    make_post(UserFactory(), topic="art")
    ranked = for_you_rank(user=viewer, seed=1)
    now = timezone.now()
    pool_log_write(user_id=viewer.pk, session="old", at=now - timedelta(days=40), ranked=ranked)
    pool_log_write(user_id=viewer.pk, session="new", at=now - timedelta(days=2), ranked=ranked)
    assert pool_logs_prune(days=30, now=now) == 1
    assert list(PoolLog.objects.values_list("session", flat=True)) == ["new"]


def test_a_shown_candidate_is_featurised_like_its_impression():
    """The evaluator scores a pool's candidates with the trainer's features; the one shown
    must come out exactly as its impression's own row (else a ranker could tell which was
    shown and the weights would be wrong)."""
    from feed.models import EventType
    from feed.ranking.dataset import logged_set_with_candidates
    from tests.ranking.conftest import log_events

    viewer, friend = UserFactory(), UserFactory()
    posts = [make_post(friend if i % 2 else UserFactory(), topic="travel") for i in range(6)]
    at = timezone.now() - timedelta(minutes=30)
    log_events(
        viewer,
        [
            (p.pk, EventType.IMPRESSION, {"surface": 1, "propensity": 0.5, "position": i})
            for i, p in enumerate(posts[:3])
        ]
        + [(posts[1].pk, EventType.LIKE, {"surface": 1})],
        at=at,
    )
    ids = [p.pk for p in posts]
    rows, cx, kept = logged_set_with_candidates(
        now=timezone.now(),
        days=1,
        candidates=(np.full(6, viewer.pk), np.array(ids), np.full(6, at.timestamp())),
    )
    assert kept.all() and len(cx) == 6 and len(rows) == 3
    for i, post_id in enumerate(rows.extra["post"].tolist()):
        np.testing.assert_allclose(cx[ids.index(post_id)], rows.x[i], rtol=1e-6, atol=1e-6)
