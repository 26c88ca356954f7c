"""Fixtures of the ranking tests: clean Redis state, the ranking routes, small worlds."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.utils import timezone

from feed.models import EventType, Post
from feed.ranking import store, topics
from feed.ranking.models import PostEmbedding
from feed.ranking.selectors import pack_vector
from feed.ranking.sources import trending_cache_key
from tests.feed.factories import PostFactory


@pytest.fixture(autouse=True)
def _ranking_state(request):
    """No Redis state (sessions, seen sets, profiles, trending) left over from another test.
    Keys are per database incarnation (store.database_tag)."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("db")
    # No random slots unless a test asks for them (tests/ranking/test_value_and_exploration.py).
    settings = request.getfixturevalue("settings")
    # No pool logs either (their insert would make query counts random): tests/ranking/test_pool_log.py.
    settings.FEED_RANKING = {**settings.FEED_RANKING, "EXPLORE_SHARE": 0.0, "POOL_LOG_SHARE": 0.0}
    store.flush_all()
    cache.delete(trending_cache_key())
    yield
    store.flush_all()
    cache.delete(trending_cache_key())


_rng = np.random.default_rng(7)


def topic_vector(label: str, noise: float = 0.15) -> np.ndarray:
    v = topics.topic_vectors()[topics.LABELS.index(label)] + noise * _rng.standard_normal(384) / np.sqrt(384)
    return (v / np.linalg.norm(v)).astype(np.float32)


def embed(post: Post, label: str, *, author_seq: int | None = None) -> None:
    """Give a post a synthetic embedding near a topic (no model load)."""
    if author_seq is None:
        author_seq = Post.objects.filter(author_id=post.author_id, created_at__lte=post.created_at).count()
    PostEmbedding.objects.update_or_create(
        post_id=post.pk,
        defaults={
            "vector": pack_vector(topic_vector(label)),
            "topic": topics.LABELS.index(label),
            "author_seq": author_seq,
            "post_created_at": post.created_at,
        },
    )


def make_post(author, *, topic: str | None = "memes", age: timedelta | None = None, **kwargs) -> Post:
    post = PostFactory(author=author, **kwargs)
    if age is not None:
        Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - age)
        post.refresh_from_db()
    if topic is not None:
        embed(post, topic)
    return post


def log_events(user, rows: list[tuple[int, EventType, dict]], *, at: datetime | None = None) -> None:
    """Append events straight to the log (as events_ingest stores them)."""
    import uuid

    from feed.models import EngagementEvent

    at = at or timezone.now()
    EngagementEvent.objects.bulk_create(
        [
            EngagementEvent(
                user_id=user.pk,
                post_id=post_id,
                type=int(etype),
                occurred_at=extra.pop("occurred_at", at),
                received_at=at,
                event_id=uuid.uuid4(),
                **extra,
            )
            for post_id, etype, extra in rows
        ]
    )
