"""The periodic work: counters folded from the event log, trending, and the tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from feed.models import EventType
from feed.ranking import services, sources
from feed.ranking.models import PostStats, ReportedPost, Watermark
from feed.ranking.tasks import stats_refresh_task, trending_refresh_task
from tests.ranking.conftest import log_events, make_post
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_stats_refresh_folds_the_log_once():
    viewer, other = UserFactory(), UserFactory()
    post = make_post(UserFactory())
    past = timezone.now() - timedelta(minutes=5)
    log_events(
        viewer,
        [
            (post.pk, EventType.IMPRESSION, {}),
            (post.pk, EventType.VIEW, {"watch_ms": 4000, "completion": 0.4}),
            (post.pk, EventType.LIKE, {}),
            (post.pk, EventType.REMIX_STARTED, {}),
            (post.pk, EventType.REPORT, {}),
        ],
        at=past,
    )
    log_events(other, [(post.pk, EventType.IMPRESSION, {}), (post.pk, EventType.HIDE, {})], at=past)
    assert stats_refresh_task() == 1
    stats = PostStats.objects.get(post_id=post.pk)
    assert (stats.impressions, stats.views, stats.likes, stats.remix_starts, stats.hides, stats.reports) == (
        2,
        1,
        1,
        1,
        1,
        1,
    )
    assert stats.completion_sum == pytest.approx(0.4) and stats.watch_ms_sum == 4000
    assert ReportedPost.objects.filter(user_id=viewer.pk, post_id=post.pk).exists()
    # A second run finds nothing new; events newer than the lag wait for the next run.
    assert services.stats_refresh() == 0
    log_events(other, [(post.pk, EventType.LIKE, {})], at=timezone.now())
    services.stats_refresh()
    assert PostStats.objects.get(post_id=post.pk).likes == 1
    services.stats_refresh(now=timezone.now() + timedelta(minutes=2))
    assert PostStats.objects.get(post_id=post.pk).likes == 2
    assert Watermark.objects.get(name=services.STATS_WATERMARK).at > past


def test_trending_is_public_remixable_recent_and_cached():
    hot = make_post(UserFactory())
    quiet = make_post(UserFactory())
    closed = make_post(UserFactory(), remix_permission="nobody")
    private = make_post(UserFactory(), visibility="friends")
    old = make_post(UserFactory(), age=timedelta(days=5))
    for _ in range(3):
        make_post(UserFactory(), remix_of=hot)
    assert trending_refresh_task() >= 2
    ids = cache.get(sources.trending_cache_key())
    assert ids.index(hot.pk) < ids.index(quiet.pk)
    assert not {closed.pk, private.pk, old.pk} & set(ids)
