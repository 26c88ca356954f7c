"""Re-ranking: author diversity, the friends quota, topic diversity (MMR). Pure numpy."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feed.ranking.rerank import RerankConfig, author_factor, rerank

CONFIG = RerankConfig(page_size=20, max_items=200, author_cap=2, mmr_lambda=0.0, friends_quota=0.0)


def test_author_factor_decays_to_its_floor():
    assert author_factor(0, 0.5, 0.25) == 1.0
    assert author_factor(1, 0.5, 0.25) == 0.625
    assert author_factor(2, 0.5, 0.25) == 0.4375
    assert abs(author_factor(30, 0.5, 0.25) - 0.25) < 1e-6


def test_a_prolific_author_cannot_crowd_a_page():
    # Author 1 has 60 posts all scoring above everybody else's 40.
    author = np.array([1] * 60 + list(range(100, 140)))
    score = np.concatenate([np.linspace(10, 9, 60), np.linspace(5, 1, 40)])
    result = rerank(score, author, np.zeros(100, bool), None, CONFIG)
    for page in range(3):
        rows = result.order[page * 20 : (page + 1) * 20]
        if len(rows) == 20 and len(set(author[result.order[page * 20 :]])) > 10:
            assert Counter(author[rows].tolist())[1] <= 2
    # Without the cap and the decay the same author fills the first page.
    plain = rerank(score, author, np.zeros(100, bool), None, RerankConfig(author_cap=100, author_decay=1.0))
    assert Counter(author[plain.order[:20]].tolist())[1] == 20


def test_a_capped_author_still_fills_the_list_when_nothing_else_is_left():
    author = np.array([1] * 30 + [2] * 3)
    result = rerank(np.arange(33, dtype=float), author, np.zeros(33, bool), None, CONFIG)
    assert sorted(result.order.tolist()) == list(range(33))


def test_friends_quota_spreads_friends_through_each_page():
    n = 100
    friend = np.zeros(n, bool)
    friend[80:] = True  # 20 friends' posts, all scored lowest
    score = np.linspace(10, 1, n)
    author = np.arange(n)
    config = RerankConfig(page_size=20, max_items=100, friends_quota=0.25, mmr_lambda=0.0)
    result = rerank(score, author, friend, None, config)
    for page in range(4):
        rows = result.order[page * 20 : (page + 1) * 20]
        assert friend[rows].sum() >= 5
        # ... spread through the page, not piled at its end
        first_friend = int(np.flatnonzero(friend[rows])[0])
        assert first_friend <= 4
    assert result.quota_pick.sum() >= 15
    # Without friends among the candidates nothing is forced.
    none = rerank(score, author, np.zeros(n, bool), None, config)
    assert not none.quota_pick.any()


def test_mmr_interleaves_topics():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    vectors = np.array(
        [a + 0.05 * rng.standard_normal(16) for _ in range(10)]
        + [b + 0.05 * rng.standard_normal(16) for _ in range(10)]
        + [rng.standard_normal(16) for _ in range(20)]
    )
    # Topic A scores a little above topic B; twenty weak candidates fill the rest.
    score = np.concatenate([np.linspace(10, 9.9, 10), np.linspace(9.85, 9.75, 10), np.linspace(3, 0, 20)])
    author = np.arange(40)
    topic = np.array([0] * 10 + [1] * 10 + [2] * 20)
    plain = rerank(score, author, np.zeros(40, bool), vectors, RerankConfig(mmr_lambda=0.0))
    assert set(topic[plain.order[:10]].tolist()) == {0}
    diverse = rerank(score, author, np.zeros(40, bool), vectors, RerankConfig(mmr_lambda=0.3))
    assert set(topic[diverse.order[:4]].tolist()) == {0, 1}
    assert sorted(topic[diverse.order[:20]].tolist()) == [0] * 10 + [1] * 10  # weak ones still last
    assert diverse.mmr_penalty.max() > 0


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=120),
    authors=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=10_000),
    quota=st.sampled_from([0.0, 0.25, 0.5]),
)
def test_rerank_places_each_candidate_at_most_once(n, authors, seed, quota):
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    author = rng.integers(0, authors, n)
    friend = rng.random(n) < 0.2
    vectors = rng.standard_normal((n, 8))
    config = RerankConfig(page_size=10, max_items=50, friends_quota=quota)
    result = rerank(score, author, friend, vectors, config)
    order = result.order.tolist()
    assert len(order) == min(n, 50)
    assert len(set(order)) == len(order)
    assert all(0 <= i < n for i in order)
    # The cap holds on the first page whenever enough other authors were available.
    first = Counter(author[order[:10]].tolist())
    if len(set(author.tolist())) >= 10:
        assert max(first.values(), default=0) <= config.author_cap
