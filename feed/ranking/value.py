"""What a shown post is worth: the objective, its terms, and value weights fitted to it. No Django.

The objective counts, per impression, what the product wants from a feed (settings
FEED_RANKING["OBJECTIVE"], docs/ranking.md "Value"):

    objective = create + remix + friend·[a friend's post got a reaction]
                + new_creator·[an early post got a reaction] − hide·[hidden or reported]

(a reaction is a like or a remix; an early post is one of its author's first three, shown
within `first_post_hours`). The ranker predicts each part; the value of a candidate is

    value = Σ_j w_j · term_j,   terms: p(create), p(remix), friend·p(like),
                                       early·p(like), −p(hide)

The weights w are *fitted*, not set by hand: `fit_value_weights` measures, on held-out
impressions (later in time than the rows the heads learned from), how each predicted term maps
to what happened, and weights it by the objective's coefficient times that slope. Were the
heads calibrated, the fit would return the objective's coefficients; it corrects their scale
where they are not (a head that overstates creation by 2× gets half the weight). The heuristic
model (no data yet) uses the objective's coefficients as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from feed.ranking.features import INDEX
from feed.ranking.model import Predictions

TERMS: tuple[str, ...] = ("create", "remix", "friend", "new_creator", "hide")
# Coefficients of the objective (a hide counts against, so its term is −p(hide)).
DEFAULT_OBJECTIVE: dict[str, float] = {"create": 1.0, "remix": 1.0, "friend": 0.1, "new_creator": 0.2, "hide": 1.0}
DEFAULT_FIRST_POST_HOURS = 72.0


def objective_of(values: Mapping[str, float] | None) -> dict[str, float]:
    """The objective's coefficients (settings may name some; the rest keep their defaults)."""
    out = dict(DEFAULT_OBJECTIVE)
    for k, v in (values or {}).items():
        if k in out:
            out[k] = float(v)
    return out


def value_terms(
    x: np.ndarray, pred: Predictions, *, age_hours: np.ndarray, first_post_hours: float = DEFAULT_FIRST_POST_HOURS
) -> np.ndarray:
    """(n, len(TERMS)) predicted terms in the order of TERMS (the hide term is −p(hide))."""
    friend = x[:, INDEX["friend"]]
    early = x[:, INDEX["early_post"]] * (np.asarray(age_hours) <= first_post_hours)
    return np.column_stack([pred.create, pred.remix, friend * pred.like, early * pred.like, -pred.hide]).astype(
        np.float64
    )


def realised_terms(
    *,
    created: np.ndarray,
    remixed: np.ndarray,
    liked: np.ndarray,
    hid: np.ndarray,
    friend: np.ndarray,
    early: np.ndarray,
) -> np.ndarray:
    """(n, len(TERMS)) what each impression did, term by term (0/1; hide as −1)."""
    reacted = np.maximum(liked, remixed).astype(np.float64)
    return np.column_stack(
        [created, remixed, friend * reacted, early * reacted, -np.asarray(hid, dtype=np.float64)]
    ).astype(np.float64)


def objective_weights(objective: Mapping[str, float]) -> np.ndarray:
    return np.array([objective[t] for t in TERMS], dtype=np.float64)


def fit_value_weights(predicted: np.ndarray, realised: np.ndarray, objective: Mapping[str, float]) -> np.ndarray:
    """Weights (one per term) for held-out impressions: each term's objective coefficient times
    the calibration slope of its prediction, the least-squares slope (with an intercept) of
    what happened on what was predicted, floored at 0. A calibrated head has slope 1; a head
    that says twice what happens, 0.5; one that knows nothing, ~0. Terms are fitted one by one
    so that one term cannot take another's credit (they are correlated: friends' posts are
    liked more and hidden less)."""
    weights = np.zeros(len(TERMS))
    if len(predicted) < 2:
        return objective_weights(objective)
    for j, term in enumerate(TERMS):
        p, r = predicted[:, j], realised[:, j]
        var = float(p.var())
        slope = float(((p - p.mean()) * (r - r.mean())).mean() / var) if var > 1e-12 else 1.0
        weights[j] = objective[term] * max(slope, 0.0)
    return weights


def shares(weighted: np.ndarray) -> np.ndarray:
    """Each term's share of the value, signed: w_j·term_j / Σ_j |w_j·term_j| (rows of zeros stay 0)."""
    total = np.abs(weighted).sum(axis=1, keepdims=True)
    return np.divide(weighted, total, out=np.zeros_like(weighted), where=total > 0)


def weights_for(meta: Mapping, objective: Mapping[str, float]) -> tuple[np.ndarray, bool]:
    """The value weights a model carries (fitted by `train_ranker` for this objective), else
    the objective's own coefficients. Returns (weights in TERMS order, fitted?)."""
    fitted = meta.get("value_weights")
    if fitted and meta.get("objective") == dict(objective) and set(fitted) == set(TERMS):
        return np.array([float(fitted[t]) for t in TERMS]), True
    return objective_weights(objective), False
