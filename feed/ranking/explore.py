"""Exploration: a small share of a ranked list's slots filled at random, with the probability of
what was shown, so the engagement log can grade rankers that never ran (off-policy
evaluation, `manage.py eval_feed --offpolicy`). No Django.

The logging policy, slot by slot down the list: with probability `share` the slot shows a
candidate drawn uniformly from those not placed yet; otherwise it shows the ranker's next
post. The probability that the post shown at slot k was shown there, given the slots above,
is therefore

    share / |remaining| + (1 − share) · [it is the ranker's next post]

which is what each item carries (`propensity`) and what the client logs on its impression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Explored:
    order: np.ndarray  # candidate indices in scroll order (same length as the ranker's list)
    propensity: np.ndarray  # the probability of each slot's post, given the slots above
    explored: np.ndarray  # bool: the slot was drawn at random (it may still be the ranker's post)


def explore(order: np.ndarray, n_candidates: int, share: float, rng: np.random.Generator) -> Explored:
    """Apply the logging policy above to the ranker's `order` (indices into n candidates)."""
    length = len(order)
    if share <= 0 or length == 0:
        return Explored(np.asarray(order, dtype=np.int64), np.ones(length), np.zeros(length, dtype=bool))
    placed = np.zeros(n_candidates, dtype=bool)
    out = np.empty(length, dtype=np.int64)
    propensity = np.empty(length)
    explored = rng.random(length) < share
    nxt = 0
    for k in range(length):
        while placed[order[nxt]]:
            nxt += 1
        greedy = int(order[nxt])
        remaining = n_candidates - k
        pick = int(rng.choice(np.flatnonzero(~placed))) if explored[k] else greedy
        placed[pick] = True
        out[k] = pick
        propensity[k] = share / remaining + (1.0 - share) * (pick == greedy)
    return Explored(out, propensity, explored)
