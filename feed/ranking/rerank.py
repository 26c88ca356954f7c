"""Listwise re-ranking of scored candidates into the order a viewer scrolls. No Django.

Greedy, one slot at a time, each slot taking the candidate with the best adjusted score:

    adjusted = relevance · author_factor − λ · (max cosine to the posts already placed)

- relevance: the score, min-max scaled to [0, 1] over the candidates;
- author_factor: (1 − floor)·decay^k + floor, k = the author's posts already in this page
  (X's home-mixer: decay 0.5, floor 0.25), and a hard cap per author per page that only
  yields when nothing else is left (prolific accounts cannot crowd a page);
- λ·max-cosine: maximal marginal relevance on the prompt embeddings (topic diversity);
- a friends quota: by position p of a page at least floor((p+1)·q/page) friends' posts, when
  friends' posts are among the candidates, spread through the page rather than at its end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RerankConfig:
    page_size: int = 20
    max_items: int = 200
    author_decay: float = 0.5
    author_floor: float = 0.25
    author_cap: int = 2
    mmr_lambda: float = 0.3
    friends_quota: float = 0.25

    @classmethod
    def from_settings(cls, values: dict | None) -> RerankConfig:
        values = values or {}
        fields = cls.__dataclass_fields__
        return cls(**{k: type(getattr(cls, k))(v) for k, v in values.items() if k in fields})


@dataclass
class Reranked:
    order: np.ndarray  # candidate indices, in scroll order
    author_factor: np.ndarray  # per placed item
    mmr_penalty: np.ndarray  # per placed item
    quota_pick: np.ndarray  # per placed item: placed by the friends quota


def author_factor(k: np.ndarray | int, decay: float, floor: float) -> np.ndarray:
    return (1.0 - floor) * np.power(decay, k) + floor


def rerank(
    score: np.ndarray,
    author_id: np.ndarray,
    is_friend: np.ndarray,
    vectors: np.ndarray | None,
    config: RerankConfig,
) -> Reranked:
    n = len(score)
    total = min(n, config.max_items)
    if total == 0:
        empty = np.zeros(0)
        return Reranked(np.zeros(0, dtype=np.int64), empty, empty, np.zeros(0, dtype=bool))
    score = np.asarray(score, dtype=np.float64)
    span = score.max() - score.min()
    base = (score - score.min()) / span if span > 0 else np.ones(n)
    _, author_idx = np.unique(np.asarray(author_id), return_inverse=True)
    members = np.split(np.argsort(author_idx, kind="stable"), np.cumsum(np.bincount(author_idx))[:-1])
    counts = np.zeros(len(members), dtype=np.int64)
    friend = np.asarray(is_friend, dtype=bool)
    friend_rows = np.flatnonzero(friend)
    if vectors is not None and len(vectors):
        v = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        v = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
        sims = np.maximum(v @ v.T, 0.0).astype(np.float64)  # one BLAS call; rows read per step
    else:
        sims = None
    # Kept up to date incrementally, so a step costs a handful of numpy calls: `value` is
    # relevance × author factor minus a large penalty once the author reached the page's cap
    # (a capped author is placed only when nothing else is left); `lam_sim` is λ × the
    # candidate's largest cosine to what was placed.
    value = base.copy()
    lam_sim = np.zeros(n)
    lam_sims = config.mmr_lambda * sims if sims is not None else None
    adjusted = np.empty(n)
    quota = math.floor(config.friends_quota * config.page_size)
    order = np.empty(total, dtype=np.int64)
    factors = np.empty(total)
    penalties = np.empty(total)
    quota_picks = np.zeros(total, dtype=bool)
    factor_of = [author_factor(k, config.author_decay, config.author_floor) for k in range(config.page_size + 1)]
    friends_in_page = 0
    touched: list[int] = []  # authors placed in this page (their values are reset at the next)
    for t in range(total):
        pos = t % config.page_size
        if pos == 0 and t:
            for a in touched:
                rows = members[a]
                value[rows] = base[rows]
                counts[a] = 0
            touched.clear()
            friends_in_page = 0
        np.subtract(value, lam_sim, out=adjusted)
        pick = int(adjusted.argmax())
        forced = False
        if quota and not friend[pick] and friends_in_page < (pos + 1) * quota // config.page_size and len(friend_rows):
            best = int(friend_rows[adjusted[friend_rows].argmax()])
            if adjusted[best] > -1e5:  # neither placed nor capped
                pick, forced = best, True
        a = int(author_idx[pick])
        order[t] = pick
        factors[t] = factor_of[min(counts[a], config.page_size)]
        penalties[t] = lam_sim[pick]
        quota_picks[t] = forced
        base[pick] = -np.inf  # placed: never again
        counts[a] += 1
        if counts[a] == 1:
            touched.append(a)
        rows = members[a]
        value[rows] = base[rows] * factor_of[min(counts[a], config.page_size)] - (
            1e6 if counts[a] >= config.author_cap else 0.0
        )
        friends_in_page += int(friend[pick])
        if lam_sims is not None:
            np.maximum(lam_sim, lam_sims[pick], out=lam_sim)
    return Reranked(order, factors, penalties, quota_picks)
