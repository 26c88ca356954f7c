"""Features of (viewer, candidate) pairs, computed in batch with numpy. No Django.

The production path (services), the trainer (train_ranker) and the offline evaluation
(eval_feed) all fill a `CandidateBatch` from their own data and call `feature_matrix`, so
the model sees the same numbers everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES: list[str] = [
    "friend",  # the author is a mutual follow
    "follow",  # the viewer follows the author (not mutual)
    "affinity",  # log1p of the viewer's recent interactions with the author
    "cameo_me",  # the post features the viewer's cameo
    "cameo_friend",  # ... or a friend's
    "remix_count",  # log1p(remixes below the post, any depth)
    "remix_rate",  # (remixes started + posted) per impression, smoothed
    "like_rate",  # likes per impression, smoothed
    "completion_rate",  # mean completion of views, smoothed
    "freshness",  # exp(-age / 24 h)
    "author_volume",  # log1p(the author's posts in the last 7 days)
    "topic_sim",  # cosine of the post to the viewer's creation/taste profile
    "create_rate",  # the viewer's own posts per view over 30 days, smoothed
    "remixable",  # the viewer may remix it
    "early_post",  # one of the author's first three posts
    "hide_rate",  # hides + reports per impression, smoothed
]
INDEX = {name: i for i, name in enumerate(FEATURES)}
N_FEATURES = len(FEATURES)

# Beta priors for the rates: a post with no impressions sits at the prior, and moves away
# from it as its impressions grow past PRIOR_STRENGTH.
PRIOR_STRENGTH = 50.0
PRIOR_REMIX_RATE = 0.02
PRIOR_LIKE_RATE = 0.06
PRIOR_COMPLETION = 0.45
PRIOR_HIDE_RATE = 0.01
EARLY_POST_MAX_SEQ = 3


@dataclass
class CandidateBatch:
    """Per-candidate columns (length n), plus the viewer-level numbers."""

    author_id: np.ndarray  # int64
    age_hours: np.ndarray  # float
    is_friend: np.ndarray  # bool
    is_follow: np.ndarray  # bool
    affinity: np.ndarray  # float, raw interaction score with the author
    cameo_me: np.ndarray  # bool
    cameo_friend: np.ndarray  # bool
    descendant_count: np.ndarray  # int
    impressions: np.ndarray  # int
    views: np.ndarray  # int
    completion_sum: np.ndarray  # float
    likes: np.ndarray  # int
    remix_events: np.ndarray  # int (remixes started + posted)
    negatives: np.ndarray  # int (hides + reports)
    author_volume_7d: np.ndarray  # int
    remixable: np.ndarray  # bool
    author_seq: np.ndarray  # int, 1 = first post (0 = unknown)
    vectors: np.ndarray  # (n, d) float32, zero rows where unknown
    viewer_create_rate: float | np.ndarray = 0.0  # one viewer's, or one per row (training)
    profile: np.ndarray | None = None  # (d,) unit vector of what the viewer makes and likes
    topic_sim: np.ndarray | None = None  # precomputed per row (training: many viewers)

    def __len__(self) -> int:
        return len(self.author_id)


def smoothed_rate(events: np.ndarray, trials: np.ndarray, prior: float, strength: float = PRIOR_STRENGTH) -> np.ndarray:
    return (events + prior * strength) / (trials + strength)


def viewer_create_rate(posts_30d: int, views_30d: int) -> float:
    """Posts made per post viewed, smoothed towards 1 creation per 50 views."""
    return float((posts_30d + 0.02 * 20) / (views_30d + 20))


def topic_similarity(vectors: np.ndarray, profile: np.ndarray | None) -> np.ndarray:
    if profile is None or not np.any(profile):
        return np.zeros(len(vectors), dtype=np.float32)
    return (vectors @ profile).astype(np.float32)


def feature_matrix(batch: CandidateBatch) -> np.ndarray:
    """(n, N_FEATURES) float32 in the order of FEATURES."""
    n = len(batch)
    x = np.empty((n, N_FEATURES), dtype=np.float32)
    x[:, INDEX["friend"]] = batch.is_friend
    x[:, INDEX["follow"]] = batch.is_follow & ~batch.is_friend
    x[:, INDEX["affinity"]] = np.log1p(np.maximum(batch.affinity, 0))
    x[:, INDEX["cameo_me"]] = batch.cameo_me
    x[:, INDEX["cameo_friend"]] = batch.cameo_friend & ~batch.cameo_me
    x[:, INDEX["remix_count"]] = np.log1p(batch.descendant_count)
    x[:, INDEX["remix_rate"]] = smoothed_rate(batch.remix_events, batch.impressions, PRIOR_REMIX_RATE)
    x[:, INDEX["like_rate"]] = smoothed_rate(batch.likes, batch.impressions, PRIOR_LIKE_RATE)
    x[:, INDEX["completion_rate"]] = smoothed_rate(batch.completion_sum, batch.views, PRIOR_COMPLETION, 20.0)
    x[:, INDEX["freshness"]] = np.exp(-np.maximum(batch.age_hours, 0) / 24.0)
    x[:, INDEX["author_volume"]] = np.log1p(batch.author_volume_7d)
    x[:, INDEX["topic_sim"]] = (
        batch.topic_sim if batch.topic_sim is not None else topic_similarity(batch.vectors, batch.profile)
    )
    x[:, INDEX["create_rate"]] = batch.viewer_create_rate
    x[:, INDEX["remixable"]] = batch.remixable
    x[:, INDEX["early_post"]] = (batch.author_seq >= 1) & (batch.author_seq <= EARLY_POST_MAX_SEQ)
    x[:, INDEX["hide_rate"]] = smoothed_rate(batch.negatives, batch.impressions, PRIOR_HIDE_RATE)
    return x


def depersonalize(x: np.ndarray) -> np.ndarray:
    """The same candidates seen by nobody in particular: the non-personalised feed."""
    x = x.copy()
    for name in ("friend", "follow", "affinity", "cameo_me", "cameo_friend", "topic_sim"):
        x[:, INDEX[name]] = 0.0
    x[:, INDEX["create_rate"]] = viewer_create_rate(0, 0)
    return x
