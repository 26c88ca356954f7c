"""The ranker alone (no database, no HTTP): how many candidates per second it scores.

Scoring = the production feature function, the model (the cold-start heuristic and a trained
MLP of the shipped shape, 16 → 32 → 4+1, run in numpy) and the creation-weighted score, on
synthetic candidate columns. Measured on batches of 100,000 (throughput) and of 500 (one
for-you session's candidates), plus the listwise re-rank of 500 candidates into a
200-item session (author decay and cap, friends quota, MMR on the 32-d topic coordinates).
Target: ≥ 100,000 candidates/s for the scorer.

    .venv/bin/python -m benchmarks.run_all ranker
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.common import percentile, write_result
from feed.ranking.features import FEATURES, CandidateBatch, feature_matrix
from feed.ranking.model import HeuristicModel, MLPModel
from feed.ranking.rerank import RerankConfig, rerank
from feed.ranking.scoring import Weights, score
from feed.ranking.topics import topic_coordinates
from feed.ranking.value import DEFAULT_OBJECTIVE, objective_weights

REPEATS = int(os.environ.get("BENCH_RANKER_REPEATS", "20"))


def candidates(n: int, rng: np.random.Generator) -> CandidateBatch:
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return CandidateBatch(
        author_id=rng.integers(0, max(2, n // 3), n),
        age_hours=rng.exponential(24, n),
        is_friend=rng.random(n) < 0.2,
        is_follow=rng.random(n) < 0.4,
        affinity=rng.exponential(1, n) * (rng.random(n) < 0.3),
        cameo_me=rng.random(n) < 0.01,
        cameo_friend=rng.random(n) < 0.05,
        descendant_count=rng.poisson(2, n),
        impressions=rng.poisson(300, n),
        views=rng.poisson(250, n),
        completion_sum=rng.random(n) * 150,
        likes=rng.poisson(20, n),
        remix_events=rng.poisson(5, n),
        negatives=rng.poisson(2, n),
        author_volume_7d=rng.integers(0, 31, n),
        remixable=rng.random(n) < 0.8,
        author_seq=rng.integers(1, 200, n),
        vectors=vectors,
        viewer_create_rate=0.03,
        profile=vectors[0],
    )


def mlp(rng: np.random.Generator) -> MLPModel:
    d, h = len(FEATURES), 32
    weights = {
        "mean": np.zeros(d),
        "std": np.ones(d),
        "w1": rng.normal(0, 0.3, (d, h)),
        "b1": np.zeros(h),
        "w2": rng.normal(0, 0.3, (h, 4)),
        "b2": np.full(4, -3.0),
        "w3": rng.normal(0, 0.3, (h, 1)),
        "b3": np.ones(1),
    }
    return MLPModel(weights, {"features": FEATURES})


def scorer_rate(model, batch: CandidateBatch, repeats: int) -> tuple[float, float]:
    weights = Weights()
    value_weights = objective_weights(DEFAULT_OBJECTIVE)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        x = feature_matrix(batch)
        pred = model.predict(x)
        score(x, pred, weights, value_weights, age_hours=batch.age_hours)
        times.append(time.perf_counter() - started)
    best = min(times)
    return len(batch) / best, len(batch) / float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(7)
    big = candidates(100_000, rng)
    small = candidates(500, rng)
    metrics: dict[str, float] = {}
    for name, model in (("heuristic", HeuristicModel()), ("mlp", mlp(rng))):
        best, median = scorer_rate(model, big, max(3, REPEATS // 4))
        metrics[f"{name}_candidates_per_s"] = round(median)
        metrics[f"{name}_candidates_per_s_best"] = round(best)
        _, median_small = scorer_rate(model, small, REPEATS * 5)
        metrics[f"{name}_candidates_per_s_batch500"] = round(median_small)
    config = RerankConfig()
    model = mlp(rng)
    rerank_ms, total_ms = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        x = feature_matrix(small)
        pred = model.predict(x)
        s = score(x, pred, Weights(), objective_weights(DEFAULT_OBJECTIVE), age_hours=small.age_hours).score
        mid = time.perf_counter()
        rerank(s, small.author_id, small.is_friend, topic_coordinates(small.vectors), config)
        end = time.perf_counter()
        rerank_ms.append((end - mid) * 1000)
        total_ms.append((end - started) * 1000)
    metrics["rerank_500_to_200_p50_ms"] = round(percentile(rerank_ms, 50), 2)
    metrics["session_numpy_pipeline_500_p50_ms"] = round(percentile(total_ms, 50), 2)
    units = {k: ("candidates/s" if "per_s" in k else "ms") for k in metrics}
    load = os.getloadavg()
    path = write_result(
        "ranker",
        params={
            "features": len(FEATURES),
            "mlp_shape": "16 -> 32 (ReLU) -> 4 sigmoid + 1 watch",
            "batch_sizes": [100_000, 500],
            "rerank": {"candidates": 500, "items": config.max_items, "mmr_on": "32-d topic coordinates"},
            "repeats": REPEATS,
            "load_average_1m_at_end": round(load[0], 2),
            "threads": "numpy default (OpenBLAS)",
        },
        metrics=metrics,
        units=units,
    )
    for k, v in metrics.items():
        print(f"{k}: {v:,}")
    print(f"[ranker] wrote {path}")


if __name__ == "__main__":
    main()
