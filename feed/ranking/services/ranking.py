"""Ranking a for-you list: profile → candidate sources → hydrate → features → model →
score → re-rank."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

import numpy as np
from django.utils import timezone

from feed.ranking import sources, store, topics
from feed.ranking.explore import explore
from feed.ranking.features import CandidateBatch, feature_matrix
from feed.ranking.model import RankerModel, current_model
from feed.ranking.rerank import RerankConfig, rerank
from feed.ranking.scoring import Weights, score
from feed.ranking.selectors import ViewerProfile, cfg, steering_similarity, viewer_profile
from feed.ranking.services.candidates import candidate_batch
from feed.ranking.services.explain import EXPLAIN_COLUMNS, Ranked
from feed.ranking.value import objective_of, weights_for
from sora_social.users.models import User


@contextmanager
def timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall milliseconds of the block to ``timings[stage]`` (the API reports them in
    its Server-Timing header, so an operator sees where a slow page spent its time)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - started) * 1000


def rank_candidates(
    profile: ViewerProfile,
    ids: list[int],
    source_of: dict[int, list[str]],
    batch: CandidateBatch,
    hidden_days: np.ndarray,
    *,
    model: RankerModel | None = None,
    explore_share: float | None = None,
    rng: np.random.Generator | None = None,
) -> Ranked:
    """Features → model → value → score → re-rank → exploration (all numpy; eval_feed runs this
    same function). `explore_share`: the share of slots drawn at random (default: settings)."""
    settings_ = cfg()
    model = model or current_model(settings_.get("MODEL_PATH"))
    x = feature_matrix(batch)
    if not profile.personalized:
        from feed.ranking.features import depersonalize

        x = depersonalize(x)
    pred = model.predict(x)
    steer = steering_similarity(profile, batch.vectors) if profile.personalized else None
    value_weights, _ = weights_for(model.meta, objective_of(settings_.get("OBJECTIVE")))
    scored = score(
        x,
        pred,
        Weights.from_settings(settings_.get("WEIGHTS")),
        value_weights,
        age_hours=batch.age_hours,
        days_since_author_hidden=hidden_days,
        steer=steer,
    )
    config = RerankConfig.from_settings(settings_.get("RERANK"))
    # Topic diversity on the posts' topic coordinates (32-d) rather than the raw 384-d vectors.
    result = rerank(scored.score, batch.author_id, batch.is_friend, topics.topic_coordinates(batch.vectors), config)
    share = float(settings_.get("EXPLORE_SHARE", 0.0)) if explore_share is None else explore_share
    shown = explore(result.order, len(ids), share, rng or np.random.default_rng())
    order = shown.order
    by_score = np.empty(len(ids), dtype=np.int64)
    by_score[np.argsort(-scored.score, kind="stable")] = np.arange(len(ids))
    # The re-rank's numbers follow the post (an explored slot may show one it did not place).
    rerank_cols = np.zeros((len(ids), 3))
    rerank_cols[result.order] = np.column_stack(
        [np.round(result.author_factor, 4), np.round(result.mmr_penalty, 4), result.quota_pick.astype(np.float64)]
    )
    # The explain data as one float64 matrix in scroll order, every number rounded as shown
    # (EXPLAIN_COLUMNS); the per-item dicts are built only for a page that asks for them.
    per_candidate = np.column_stack(
        [
            scored.score,
            pred.remix,
            pred.create,
            pred.like,
            pred.hide,
            pred.watch_s,
            scored.weighted,
            scored.fatigue,
            scored.steer,
        ]
    ).astype(np.float64)
    explain = np.column_stack(
        [
            np.round(per_candidate[order], 4),
            (by_score[order] + 1).astype(np.float64),
            rerank_cols[order],
            np.round(shown.propensity, 6),
            shown.explored.astype(np.float64),
        ]
    ).reshape(len(order), len(EXPLAIN_COLUMNS))
    post_ids = [ids[i] for i in order.tolist()]
    # The pool in the logging ranker's order (its list, then what it left out by score), and
    # where each slot's post sits in it: a sampled session keeps both (services.pool_log).
    listed = np.zeros(len(ids), dtype=bool)
    listed[result.order] = True
    rest = np.flatnonzero(~listed)
    by_score_rest = rest[np.argsort(-scored.score[rest], kind="stable")]
    pool_order = np.concatenate([np.asarray(result.order, dtype=np.int64), by_score_rest])
    place = np.empty(len(ids), dtype=np.int64)
    place[pool_order] = np.arange(len(ids))
    return Ranked(
        post_ids=post_ids,
        sources=[source_of.get(pid, ["unknown"]) for pid in post_ids],
        explain=np.ascontiguousarray(explain),
        candidates=len(ids),
        model=model.name,
        personalized=profile.personalized,
        pool=[ids[i] for i in pool_order.tolist()],
        slots=place[order].tolist(),
        explore_share=share,
    )


def viewer_profile_cached(user: User, *, now: datetime) -> ViewerProfile:
    """The viewer's profile, cached for PROFILE_TTL_S (a refresh rebuilds the list without
    recomputing it). Staleness is bounded and safe: every served page re-checks visibility,
    blocks, hides and reports; steering and preference changes drop the cache at once."""
    ttl = int(cfg().get("PROFILE_TTL_S", 0))
    if ttl <= 0:
        return viewer_profile(user, now=now)
    profile = store.profile_get(user.pk)
    if profile is None or profile.is_minor != user.is_minor:
        profile = viewer_profile(user, now=now)
        store.profile_set(user.pk, profile, ttl_s=ttl)
    return profile


@lru_cache(maxsize=1)
def _blas_single_threaded() -> bool:
    """Serving ranks a few hundred rows at a time: OpenBLAS's worker threads cost far more
    than they give there (a 213×384 by 384×32 product took 1.8 ms of CPU and 3.5 ms of wall
    time with two threads on this shared 2-core machine, 0.08 ms with one), and a web process
    already runs requests in parallel. Set once, for the process that serves for-you; the
    offline evaluation and the trainer (which call rank_candidates directly) keep theirs."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return False
    threadpool_limits(limits=1, user_api="blas")
    return True


def for_you_rank(
    *, user: User, now: datetime | None = None, seed: int | None = None, timings: dict[str, float] | None = None
) -> Ranked:
    """Rank a fresh for-you list for `user` (without posts they have seen recently).
    ``timings``: filled with each stage's wall milliseconds."""
    _blas_single_threaded()
    now = now or timezone.now()
    rng = random.Random(seed)
    with timed(timings, "profile"):
        profile = viewer_profile_cached(user, now=now)
        exclude = store.seen_ids(user.pk, ttl_s=cfg()["SEEN_TTL_S"]) | profile.excluded_posts
    with timed(timings, "sources"):
        source_of = sources.gather(profile, now=now, rng=rng, exclude=exclude)
    with timed(timings, "candidates"):
        ids, batch, hidden_days = candidate_batch(profile, list(source_of), now=now)
    with timed(timings, "rank"):
        return rank_candidates(profile, ids, source_of, batch, hidden_days, rng=np.random.default_rng(seed))
