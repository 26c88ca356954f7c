"""The feed evaluation across worlds (`manage.py eval_feed`): for each behaviour model
(worlds.py), a population whose creation follows it, a past log drawn from it, a ranker trained
on that log (time-split holdout, value weights fitted to the objective), and every policy
scrolled by the same viewers. Conclusions are drawn only where they hold in every world.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings

from feed.ranking.features import feature_matrix
from feed.ranking.rerank import RerankConfig, rerank
from feed.ranking.selectors import ViewerProfile
from feed.ranking.services import rank_candidates
from feed.ranking.topics import topic_coordinates
from feed.ranking.train import train_mlp
from feed.ranking.value import TERMS, objective_of, value_terms, weights_for
from tools.feed import simulate
from tools.feed.synthetic import Population
from tools.feed.worlds import SOCIAL, WORLDS, World

POLICIES = {
    "for_you": "candidates → model → fitted value → fatigue/steering → re-rank (the endpoint's function)",
    "for_you_explore": "for-you with its exploration share of random slots (what exploring costs)",
    "model_value": "the same candidates by the fitted value alone (no re-rank)",
    "watch_time": "the same candidates by predicted watch time alone",
    "watch_time_rerank": "predicted watch time through the same re-rank (author and topic spread, friends quota)",
    "chronological": "followed accounts and friends, newest first (the following feed)",
}
LABELS = {
    "expected_creations_per_session": ("creations per session (Σ p(create)+p(remix), 40 posts)", "{:.3f}"),
    "expected_hides_per_session": ("hides per session", "{:.3f}"),
    "expected_watch_s_per_session": ("seconds watched per session", "{:.0f}"),
    "friends_share": ("share of friends' posts", "{:.1%}"),
    "first_post_feedback_share": ("new creators whose first post got a reaction", "{:.1%}"),
    "author_gini": ("author concentration (Gini)", "{:.3f}"),
}


def paired_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of a − b over the same sessions, with a 95 % normal interval."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("inf")
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


@dataclass
class WorldResult:
    world: World
    evaluation: simulate.Evaluation
    holdout: dict
    value_weights: dict[str, float]
    seconds: float
    diffs: dict[str, dict[str, tuple[float, float, float]]] = field(default_factory=dict)


def _policies(pop: Population, model) -> dict[str, simulate.Rank]:
    objective = objective_of(settings.FEED_RANKING.get("OBJECTIVE"))
    value_weights, _ = weights_for(model.meta, objective)
    config = RerankConfig.from_settings(settings.FEED_RANKING.get("RERANK"))
    share = float(settings.FEED_RANKING.get("EXPLORE_SHARE", 0.05)) or 0.05

    def profile_of(u: int) -> ViewerProfile:
        return ViewerProfile(
            user_id=u,
            is_minor=bool(pop.is_minor[u]),
            personalized=True,
            following=set(pop.graph.following(u).tolist()),
            friends=set(pop.graph.friends(u).tolist()),
        )

    def for_you(u, ids, found, batch, hidden_days, explore=0.0) -> list[int]:
        rng = np.random.default_rng(u)
        ranked = rank_candidates(
            profile_of(u), ids.tolist(), found, batch, hidden_days, model=model, explore_share=explore, rng=rng
        )
        return ranked.post_ids

    def by_value(u, ids, found, batch, hidden_days) -> list[int]:
        x = feature_matrix(batch)
        value = value_terms(x, model.predict(x), age_hours=batch.age_hours) @ value_weights
        return ids[np.argsort(-value, kind="stable")].tolist()

    def by_watch(u, ids, found, batch, hidden_days) -> list[int]:
        watch = model.predict(feature_matrix(batch)).watch_s
        return ids[np.argsort(-watch, kind="stable")].tolist()

    def watch_reranked(u, ids, found, batch, hidden_days) -> list[int]:
        watch = model.predict(feature_matrix(batch)).watch_s.astype(np.float64)
        order = rerank(watch, batch.author_id, batch.is_friend, topic_coordinates(batch.vectors), config).order
        return ids[order].tolist()

    return {
        "for_you": for_you,
        "for_you_explore": lambda *a: for_you(*a, explore=share),
        "model_value": by_value,
        "watch_time": by_watch,
        "watch_time_rerank": watch_reranked,
    }


def run_world(
    world: World,
    base: Population,
    *,
    sessions: int,
    items: int,
    seed: int,
    say: Callable[[str], None],
) -> WorldResult:
    started = time.monotonic()
    pop = replace(base, world=world)
    rng = np.random.default_rng(seed + 11)
    say(f"[{world.name}] simulating a past log ...")
    hist = simulate.simulate_history(pop, rng)
    data = simulate.training_set(pop, hist, rng)
    say(f"[{world.name}] {len(data):,} rows; training (holdout: the latest 10 % by time) ...")
    model, holdout = train_mlp(data, epochs=6, seed=seed, objective=settings.FEED_RANKING.get("OBJECTIVE"))
    say(
        f"[{world.name}] holdout AUC "
        + ", ".join(f"{k[:-4]} {v:.3f}" for k, v in holdout.items() if k.endswith("_auc") and v)
        + f"; value weights {model.meta['value_weights']}"
    )
    sources = simulate.Sources(pop, hist, {k: int(v) for k, v in settings.FEED_RANKING["SOURCES"].items()})
    evaluation = simulate.evaluate(
        pop, hist, sources, _policies(pop, model), sessions=sessions, items=items, seed=seed, say=say
    )
    result = WorldResult(world, evaluation, holdout, model.meta["value_weights"], time.monotonic() - started)
    for other in evaluation.creations:
        if other == "for_you":
            continue
        result.diffs[other] = {
            "creations": paired_ci(evaluation.creations["for_you"], evaluation.creations[other]),
            "hides": paired_ci(evaluation.hides["for_you"], evaluation.hides[other]),
        }
    say(f"[{world.name}] done in {result.seconds:.0f} s")
    return result


def calibrated_worlds(base: Population, names: list[str], seed: int) -> list[World]:
    """The chosen worlds with intercepts set so their average creation and remix rates over the
    same reference impressions equal the social world's."""
    viewers, posts = simulate.reference_pairs(base, np.random.default_rng(seed + 5))
    f = base.factors(viewers, posts)
    p_create, p_remix = SOCIAL.probabilities(f)
    target = {"create": float(p_create.mean()), "remix": float(p_remix.mean())}
    return [WORLDS[name].calibrated(f, target) for name in names]


def conclusions(results: list[WorldResult]) -> list[str]:
    """For-you against each other policy, on creations and hides: stated when the 95 % interval
    of the paired difference excludes 0 with the same sign in every world; otherwise the worlds
    where it goes each way."""
    out = []
    for other in results[0].diffs:
        for metric, more, less in (("creations", "more", "fewer"), ("hides", "more", "fewer")):
            signs = []
            for r in results:
                _, lo, hi = r.diffs[other][metric]
                signs.append(1 if lo > 0 else -1 if hi < 0 else 0)
            per_world = ", ".join(f"{r.world.name} {r.diffs[other][metric][0]:+.3f}" for r in results)
            if all(s == 1 for s in signs):
                out.append(f"HOLDS: for-you gives {more} {metric} than {other} in every world ({per_world}).")
            elif all(s == -1 for s in signs):
                out.append(f"HOLDS: for-you gives {less} {metric} than {other} in every world ({per_world}).")
            else:
                out.append(f"DEPENDS on the world: for-you vs {other} on {metric} ({per_world}).")
    return out


def table(results: list[WorldResult]) -> list[str]:
    """Markdown: one row per (world, policy), the metrics as columns."""
    names = list(results[0].evaluation.metrics)
    lines = [
        "| world | policy | " + " | ".join(label for label, _ in LABELS.values()) + " |",
        "|---|---|" + "---|" * len(LABELS),
    ]
    for r in results:
        for name in names:
            m = r.evaluation.metrics[name]
            cells = " | ".join(fmt.format(m[key]) for key, (_, fmt) in LABELS.items())
            bold = "**" if name == "for_you" else ""
            lines.append(f"| {r.world.name} | {bold}{name}{bold} | {cells} |")
    return lines


def weights_table(results: list[WorldResult]) -> list[str]:
    lines = [
        "| world | " + " | ".join(f"w_{t}" for t in TERMS) + " | holdout AUC create / remix / hide |",
        "|---|" + "---|" * (len(TERMS) + 1),
    ]
    for r in results:
        aucs = " / ".join(f"{r.holdout.get(h + '_auc') or float('nan'):.3f}" for h in ("create", "remix", "hide"))
        lines.append(f"| {r.world.name} | " + " | ".join(f"{r.value_weights[t]:.3f}" for t in TERMS) + f" | {aucs} |")
    return lines
