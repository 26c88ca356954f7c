"""The explain data of a ranked list: one float64 row per item (EXPLAIN_COLUMNS), kept with
the session in Redis, turned into the `?explain=1` dict only for a page that asks for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feed.ranking.value import TERMS, shares

# The columns of a ranked list's explain matrix (one float64 row per item, in scroll order).
# v_*: the value terms, weight × predicted term (feed/ranking/value.py); v_hide ≤ 0.
EXPLAIN_COLUMNS = (
    "score",
    "remix",
    "create",
    "like",
    "hide",
    "watch_s",
    *(f"v_{t}" for t in TERMS),
    "fatigue",
    "steer",
    "rank_by_score",
    "author_factor",
    "mmr_penalty",
    "friends_quota",
    "propensity",
    "explored",
)
COLUMN = {name: i for i, name in enumerate(EXPLAIN_COLUMNS)}


def explain_data(row: np.ndarray | list[float], sources: list[str], position: int) -> dict[str, Any]:
    """One item's explain (the `?explain=1` shape) from its row of the explain matrix;
    `position` is its place in the session's list, from 1."""
    v = row.tolist() if isinstance(row, np.ndarray) else list(row)
    terms = np.array([v[COLUMN[f"v_{t}"]] for t in TERMS])
    share = shares(terms[None, :])[0]
    return {
        "source": sources[0],
        "sources": list(sources),
        "score": v[COLUMN["score"]],
        "predicted": {k: v[COLUMN[k]] for k in ("remix", "create", "like", "hide", "watch_s")},
        "value": {t: float(x) for t, x in zip(TERMS, terms.tolist(), strict=True)},
        "shares": {t: round(float(x), 4) for t, x in zip(TERMS, share.tolist(), strict=True)},
        "fatigue": v[COLUMN["fatigue"]],
        "steer": v[COLUMN["steer"]],
        "rerank": {
            "rank_by_score": int(v[COLUMN["rank_by_score"]]),
            "position": position,
            "author_factor": v[COLUMN["author_factor"]],
            "mmr_penalty": v[COLUMN["mmr_penalty"]],
            "friends_quota": bool(v[COLUMN["friends_quota"]]),
        },
        "exploration": {"explored": bool(v[COLUMN["explored"]]), "propensity": v[COLUMN["propensity"]]},
    }


@dataclass
class Ranked:
    """A ranked list: post ids in scroll order, the sources that proposed each (the first is
    the one shown), and the explain matrix (EXPLAIN_COLUMNS, one row per item).

    `pool`: every candidate id in the logging ranker's order (its list, then the rest by score),
    and `slots`: each item's index in `pool`: what a PoolLog keeps of a sampled session."""

    post_ids: list[int]
    sources: list[list[str]]
    explain: np.ndarray
    candidates: int
    model: str
    personalized: bool = True
    pool: list[int] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    explore_share: float = 0.0

    @property
    def items(self) -> list[dict[str, Any]]:
        """Each item as a dict: post id, source and explain (for callers that want them all)."""
        return [
            {"p": pid, "s": srcs[0], "x": explain_data(self.explain[i], srcs, i + 1)}
            for i, (pid, srcs) in enumerate(zip(self.post_ids, self.sources, strict=True))
        ]
