"""Off-policy evaluation: the value of a ranker that never ran, from a log of what another one
showed, with the probability it showed it. No Django.

The unit is a *slot decision*: a context (the pool of candidates the slot could have shown),
the candidate the logging policy showed, the probability it had of showing it (`propensity`,
what feed/ranking/explore.py logs), and the reward that followed (a creation or a remix). A
target policy gives each candidate of a pool a probability (a ranker: 1 for its top candidate
of what is left). Three estimators of the target's mean reward per slot:

  IPS    mean of w·r, with w = π(shown | pool) / propensity (unbiased; high variance)
  SNIPS  Σ w·r / Σ w (self-normalised: a little bias, much less variance)
  DR     mean of Σ_a π(a) r̂(a) + w·(r − r̂(shown)) (doubly robust: unbiased if either the
         propensities or the reward model r̂ are right; r̂ is the ranker's own prediction)

Each comes with a 95 % normal interval (SNIPS's by the delta method), the effective sample size
(Σw)²/Σw² of its weights, and their mean: E[w] = 1 under the logging policy, so a mean far from 1
says the log's propensities or pools are not the ones the decisions were drawn with, and no
estimate from it should be trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass
class SlotLog:
    """Logged slot decisions. The candidates of decision i are rows ptr[i]:ptr[i+1] of x, or,
    with `rows`, rows rows[ptr[i]:ptr[i+1]] of x (the slots of one session share their pool's
    rows: each candidate is scored once, not once per slot it was still left for)."""

    ptr: np.ndarray  # (n + 1,) int64
    x: np.ndarray  # (candidates, d): what policies and the reward model score
    chosen: np.ndarray  # (n,) index within its pool of the candidate shown
    propensity: np.ndarray  # (n,) the logging policy's probability of what it showed
    reward: np.ndarray  # (n,)
    rows: np.ndarray | None = None  # (ptr[-1],) int64: the pools' rows of x, if not x itself

    def scored(self, scores: np.ndarray) -> np.ndarray:
        """Scores of x's rows laid out as the pools' candidates."""
        return scores if self.rows is None else scores[self.rows]

    def __len__(self) -> int:
        return len(self.chosen)

    @property
    def shown_rows(self) -> np.ndarray:
        return self.ptr[:-1] + self.chosen


@dataclass(frozen=True)
class Estimate:
    estimator: str
    value: float
    low: float
    high: float
    n: int
    ess: float  # effective sample size of the importance weights
    mean_weight: float = 1.0  # E[w] is 1 when the propensities and pools are right: a check on the log

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


def greedy_probabilities(scores: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """A ranker's probabilities per candidate: 1 for the top score of each pool (the first on
    ties), 0 elsewhere."""
    probs = np.zeros(len(scores))
    for i in range(len(ptr) - 1):
        lo, hi = ptr[i], ptr[i + 1]
        if hi > lo:
            probs[lo + int(np.argmax(scores[lo:hi]))] = 1.0
    return probs


def _ess(w: np.ndarray) -> float:
    s2 = float((w**2).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def estimate(
    log: SlotLog,
    target_scores: Callable[[np.ndarray], np.ndarray],
    reward_model: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Estimate]:
    """IPS, SNIPS and (with a reward model) DR estimates of the mean reward per slot of the
    ranker that shows, in each slot, the candidate `target_scores` scores highest."""
    probs = greedy_probabilities(log.scored(np.asarray(target_scores(log.x), dtype=np.float64)), log.ptr)
    shown = log.shown_rows
    w = probs[shown] / log.propensity
    r = np.asarray(log.reward, dtype=np.float64)
    n = len(r)
    out: dict[str, Estimate] = {}
    ips_terms = w * r
    ips = float(ips_terms.mean())
    half = Z95 * ips_terms.std(ddof=1) / np.sqrt(n)
    mw = float(w.mean())
    out["ips"] = Estimate("ips", ips, ips - half, ips + half, n, _ess(w), mw)
    total = float(w.sum())
    if total > 0:
        snips = float(ips_terms.sum() / total)
        half = Z95 * float(np.sqrt(((w * (r - snips)) ** 2).sum())) / total
    else:
        snips, half = 0.0, float("inf")
    out["snips"] = Estimate("snips", snips, snips - half, snips + half, n, _ess(w), mw)
    if reward_model is not None:
        r_hat = log.scored(np.asarray(reward_model(log.x), dtype=np.float64))
        direct = np.add.reduceat(probs * r_hat, log.ptr[:-1])  # pools are never empty: one was shown
        terms = direct + w * (r - r_hat[shown])
        dr = float(terms.mean())
        half = Z95 * terms.std(ddof=1) / np.sqrt(n)
        out["dr"] = Estimate("dr", dr, dr - half, dr + half, n, _ess(w), mw)
    return out


def on_policy(log: SlotLog) -> Estimate:
    """The logging policy's own mean reward per slot (no weighting)."""
    r = np.asarray(log.reward, dtype=np.float64)
    half = Z95 * r.std(ddof=1) / np.sqrt(len(r))
    return Estimate("logged", float(r.mean()), float(r.mean() - half), float(r.mean() + half), len(r), float(len(r)))
