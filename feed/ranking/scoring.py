"""From predictions to one score per candidate, with its parts kept for `?explain=1`. No Django.

    value = w_create·p(create) + w_remix·p(remix) + w_like·p(like) + w_watch·E[watch s]
    boost = 1 + friend + follow + cameo (me / a friend) + first-post-to-friends + new author
    score = value · boost · fatigue · exp(steer) − w_hide·p(hide or report)

Weights live in settings.FEED_RANKING; docs/ranking.md explains each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feed.ranking.features import INDEX
from feed.ranking.model import Predictions


@dataclass(frozen=True)
class Weights:
    create: float = 40.0
    remix: float = 25.0
    like: float = 2.0
    watch: float = 0.02  # per expected second watched
    hide: float = 60.0
    friend: float = 1.5
    follow: float = 0.3
    cameo_me: float = 2.0
    cameo_friend: float = 0.8
    first_post_friend: float = 3.0  # an early post shown to the author's friends / followers
    first_post_hours: float = 72.0
    new_author: float = 0.4  # an early post shown to anyone (exploration)
    fatigue_strength: float = 0.8  # an author you hid: score × (1 − 0.8·e^(−days/fatigue_days))
    fatigue_days: float = 21.0
    steer: float = 2.5  # exp(2.5 · steer similarity) for "more ...", the inverse for "less ..."

    @classmethod
    def from_settings(cls, values: dict | None) -> Weights:
        values = values or {}
        return cls(**{k: float(v) for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass
class Scored:
    score: np.ndarray
    value: np.ndarray
    boost: np.ndarray
    fatigue: np.ndarray
    steer: np.ndarray
    penalty: np.ndarray
    parts: dict[str, np.ndarray]  # the weighted terms of `value`


def fatigue_factor(days_since_hide: np.ndarray, strength: float, days: float) -> np.ndarray:
    """1 for authors never hidden (days = +inf); 1 − strength right after a hide, back to
    ~1 over a few `days` time constants (a hide in the last weeks still demotes)."""
    with np.errstate(over="ignore"):
        return 1.0 - strength * np.exp(-np.asarray(days_since_hide, dtype=np.float64) / days)


def score(
    x: np.ndarray,
    pred: Predictions,
    weights: Weights,
    *,
    age_hours: np.ndarray,
    days_since_author_hidden: np.ndarray | None = None,
    steer: np.ndarray | None = None,
    minor: bool = False,
) -> Scored:
    n = len(x)
    w_watch = 0.0 if minor else weights.watch  # minors: nothing is ranked by watch time
    parts = {
        "create": weights.create * pred.create,
        "remix": weights.remix * pred.remix,
        "like": weights.like * pred.like,
        "watch": w_watch * pred.watch_s,
    }
    value = parts["create"] + parts["remix"] + parts["like"] + parts["watch"]
    friend = x[:, INDEX["friend"]]
    follow = x[:, INDEX["follow"]]
    early = x[:, INDEX["early_post"]] * (age_hours <= weights.first_post_hours)
    boost = (
        1.0
        + weights.friend * friend
        + weights.follow * follow
        + weights.cameo_me * x[:, INDEX["cameo_me"]]
        + weights.cameo_friend * x[:, INDEX["cameo_friend"]]
        + weights.first_post_friend * early * np.maximum(friend, follow)
        + weights.new_author * early * (1 - np.maximum(friend, follow))
    )
    if days_since_author_hidden is None:
        fatigue = np.ones(n)
    else:
        fatigue = fatigue_factor(days_since_author_hidden, weights.fatigue_strength, weights.fatigue_days)
    steer_sim = np.zeros(n) if steer is None else steer
    penalty = weights.hide * pred.hide
    total = value * boost * fatigue * np.exp(weights.steer * steer_sim) - penalty
    return Scored(
        score=total.astype(np.float64),
        value=value,
        boost=boost,
        fatigue=fatigue,
        steer=steer_sim,
        penalty=penalty,
        parts=parts,
    )
