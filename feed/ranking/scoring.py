"""From predictions to one score per candidate, with its parts kept for `?explain=1`. No Django.

    value terms = w · [p(create), p(remix), friend·p(like), early·p(like), −p(hide)]   (value.py)
    score       = (Σ positive terms) · fatigue · exp(steer) + hide term

The value weights w are fitted to the objective (value.py); the only hand-set numbers left
here are the viewer's own controls: how long a hidden author stays demoted, and how hard
steering pulls. Relationship boosts are gone: friends and new creators are terms of the
objective, weighted like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feed.ranking.model import Predictions
from feed.ranking.value import DEFAULT_FIRST_POST_HOURS, TERMS, value_terms


@dataclass(frozen=True)
class Weights:
    first_post_hours: float = DEFAULT_FIRST_POST_HOURS  # an early post counts as a new creator's
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
    value: np.ndarray  # Σ of the weighted terms (before fatigue and steering)
    weighted: np.ndarray  # (n, len(TERMS)): weight × predicted term
    fatigue: np.ndarray
    steer: np.ndarray
    penalty: np.ndarray  # −(the hide term), ≥ 0

    def part(self, term: str) -> np.ndarray:
        return self.weighted[:, TERMS.index(term)]


def fatigue_factor(days_since_hide: np.ndarray, strength: float, days: float) -> np.ndarray:
    """1 for authors never hidden (days = +inf); 1 − strength right after a hide, back to
    ~1 over a few `days` time constants (a hide in the last weeks still demotes)."""
    with np.errstate(over="ignore"):
        return 1.0 - strength * np.exp(-np.asarray(days_since_hide, dtype=np.float64) / days)


def score(
    x: np.ndarray,
    pred: Predictions,
    weights: Weights,
    value_weights: np.ndarray,
    *,
    age_hours: np.ndarray,
    days_since_author_hidden: np.ndarray | None = None,
    steer: np.ndarray | None = None,
) -> Scored:
    n = len(x)
    weighted = value_terms(x, pred, age_hours=age_hours, first_post_hours=weights.first_post_hours) * value_weights
    hide = TERMS.index("hide")
    gain = weighted.sum(axis=1) - weighted[:, hide]
    penalty = -weighted[:, hide]
    if days_since_author_hidden is None:
        fatigue = np.ones(n)
    else:
        fatigue = fatigue_factor(days_since_author_hidden, weights.fatigue_strength, weights.fatigue_days)
    steer_sim = np.zeros(n) if steer is None else steer
    total = gain * fatigue * np.exp(weights.steer * steer_sim) - penalty
    return Scored(
        score=total.astype(np.float64),
        value=gain - penalty,
        weighted=weighted,
        fatigue=fatigue,
        steer=steer_sim,
        penalty=penalty,
    )
