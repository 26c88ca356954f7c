"""The feed evaluation's machinery: worlds calibrated to the same average rates yet disagreeing,
conclusions drawn only where every world agrees, and one small end-to-end run."""

from __future__ import annotations

import numpy as np
import pytest

from tools.feed import evaluation, simulate
from tools.feed.synthetic import make_population
from tools.feed.worlds import SOCIAL, WORLDS


@pytest.fixture(scope="module")
def population():
    return make_population(400, 3000, seed=3, days=14)


def test_worlds_share_average_rates_but_disagree_on_what_drives_them(population):
    worlds = evaluation.calibrated_worlds(population, list(WORLDS), seed=3)
    viewers, posts = simulate.reference_pairs(population, np.random.default_rng(8))  # other pairs
    f = population.factors(viewers, posts)
    social_create, social_remix = SOCIAL.probabilities(f)
    by_name = {w.name: w.probabilities(f) for w in worlds}
    for create, remix in by_name.values():
        assert create.mean() == pytest.approx(social_create.mean(), rel=0.15)
        assert remix.mean() == pytest.approx(social_remix.mean(), rel=0.15)
    # Same averages, different posts: the worlds do not rank pairs alike.
    assert np.corrcoef(by_name["social"][0], by_name["novelty"][0])[0, 1] < 0.5
    assert np.corrcoef(by_name["social"][0], by_name["craft"][0])[0, 1] < 0.8


class _Result:
    def __init__(self, name: str, diffs: dict) -> None:
        self.world = WORLDS[name]
        self.diffs = diffs


def test_a_conclusion_is_stated_only_when_every_world_agrees():
    agree = {"creations": (0.3, 0.1, 0.5), "hides": (0.1, -0.1, 0.3)}
    results = [_Result("social", {"chronological": agree}), _Result("craft", {"chronological": agree})]
    lines = evaluation.conclusions(results)
    assert lines[0].startswith("HOLDS: for-you gives more creations than chronological")
    assert lines[1].startswith("DEPENDS")  # the hides interval contains 0
    results[1].diffs["chronological"] = {"creations": (-0.3, -0.5, -0.1), "hides": (0.1, -0.1, 0.3)}
    assert evaluation.conclusions(results)[0].startswith("DEPENDS")


def test_one_world_end_to_end(population, settings):
    result = evaluation.run_world(SOCIAL, population, sessions=6, items=20, seed=3, say=lambda _m: None)
    assert set(result.evaluation.metrics) == {*evaluation.POLICIES}
    assert set(result.diffs) == set(evaluation.POLICIES) - {"for_you"}
    assert result.holdout["create_auc"] is not None and set(result.value_weights) == {
        "create",
        "remix",
        "friend",
        "new_creator",
        "hide",
    }
    assert all(m["items_per_session"] > 0 for m in result.evaluation.metrics.values())
