"""The value weights fitted to the objective, the time-split holdout, and exploration's
propensities. Pure numpy (and a small torch fit)."""

from __future__ import annotations

import numpy as np
import pytest

from feed.ranking.explore import explore
from feed.ranking.features import FEATURES, INDEX
from feed.ranking.model import Predictions
from feed.ranking.train import TrainingSet, time_split, train_mlp
from feed.ranking.value import (
    DEFAULT_OBJECTIVE,
    TERMS,
    fit_value_weights,
    objective_weights,
    realised_terms,
    shares,
    value_terms,
    weights_for,
)


def _terms_world(n: int, rng: np.random.Generator, *, create_scale: float):
    """Predicted heads and outcomes drawn from them, except that the create head overstates
    the true rate by 1/create_scale."""
    p_create = rng.uniform(0.0, 0.2, n)
    pred = Predictions(
        remix=rng.uniform(0.0, 0.2, n).astype(np.float32),
        create=p_create.astype(np.float32),
        like=rng.uniform(0.0, 0.5, n).astype(np.float32),
        hide=rng.uniform(0.0, 0.2, n).astype(np.float32),
        watch_s=np.zeros(n, np.float32),
    )
    x = np.zeros((n, len(FEATURES)), np.float32)
    x[:, INDEX["friend"]] = rng.random(n) < 0.3
    x[:, INDEX["early_post"]] = rng.random(n) < 0.2
    created = rng.random(n) < create_scale * p_create
    remixed = rng.random(n) < pred.remix
    liked = rng.random(n) < pred.like
    hid = rng.random(n) < pred.hide
    realised = realised_terms(
        created=created,
        remixed=remixed,
        liked=liked,
        hid=hid,
        friend=x[:, INDEX["friend"]],
        early=x[:, INDEX["early_post"]],
    )
    return value_terms(x, pred, age_hours=np.zeros(n)), realised


def test_fitted_weights_recover_the_objective_and_correct_a_miscalibrated_head():
    rng = np.random.default_rng(0)
    predicted, realised = _terms_world(200_000, rng, create_scale=1.0)
    w = dict(zip(TERMS, fit_value_weights(predicted, realised, DEFAULT_OBJECTIVE), strict=True))
    for term in TERMS:  # calibrated heads: the fit returns the objective's coefficients
        assert w[term] == pytest.approx(DEFAULT_OBJECTIVE[term], abs=0.15 * max(DEFAULT_OBJECTIVE[term], 0.5))
    predicted, realised = _terms_world(200_000, rng, create_scale=0.5)
    w = dict(zip(TERMS, fit_value_weights(predicted, realised, DEFAULT_OBJECTIVE), strict=True))
    assert w["create"] == pytest.approx(0.5, abs=0.1)  # the head says twice what happens
    assert w["remix"] == pytest.approx(1.0, abs=0.15)


def test_a_model_uses_its_fitted_weights_only_for_the_objective_they_were_fitted_to():
    fitted = {t: 0.5 for t in TERMS}
    w, ok = weights_for({"objective": dict(DEFAULT_OBJECTIVE), "value_weights": fitted}, DEFAULT_OBJECTIVE)
    assert ok and (w == 0.5).all()
    other = {**DEFAULT_OBJECTIVE, "friend": 0.9}
    w, ok = weights_for({"objective": dict(DEFAULT_OBJECTIVE), "value_weights": fitted}, other)
    assert not ok and np.array_equal(w, objective_weights(other))


def test_shares_are_signed_and_sum_to_one_in_absolute_value():
    s = shares(np.array([[0.2, 0.1, 0.05, 0.0, -0.15], [0, 0, 0, 0, 0]]))
    assert np.abs(s[0]).sum() == pytest.approx(1.0) and s[0, 4] < 0 and (s[1] == 0).all()


def test_the_holdout_is_the_latest_rows():
    t = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 0.0])
    train, held = time_split(t, 0.2)
    assert set(t[held]) == {8.0, 9.0} and t[train].max() < t[held].min()


def test_training_fits_value_weights_on_the_later_rows():
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.standard_normal((n, len(FEATURES))).astype(np.float32)
    x[:, INDEX["remixable"]] = 1
    x[:, INDEX["friend"]] = rng.random(n) < 0.3
    x[:, INDEX["freshness"]] = 0.5
    logits = -3 + 1.5 * x[:, [INDEX["topic_sim"]]] + rng.standard_normal((n, 4)) * 0.1
    y = (rng.random((n, 4)) < 1 / (1 + np.exp(-logits))).astype(np.float32)
    data = TrainingSet(x, y, np.full(n, 5.0), np.ones(n, bool), t=np.arange(n, dtype=float))
    model, metrics = train_mlp(data, hidden=8, epochs=10, batch_size=128, seed=0)
    assert metrics["create_auc"] > 0.6
    assert set(model.meta["value_weights"]) == set(TERMS) and model.meta["objective"] == DEFAULT_OBJECTIVE
    assert "latest" in model.meta["holdout"]


def test_exploration_propensities_are_the_probabilities_of_what_was_shown():
    """Draw the logging policy many times: each (slot, post) frequency matches the propensity
    logged with it, and slots left alone keep the ranker's order."""
    n, order, share = 6, np.array([3, 1, 4, 0, 5, 2]), 0.3
    rng = np.random.default_rng(2)
    runs = 20_000
    counts = np.zeros((n, n))
    logged = np.zeros((n, n))
    for _ in range(runs):
        shown = explore(order, n, share, rng)
        counts[np.arange(n), shown.order] += 1
        logged[np.arange(n), shown.order] += shown.propensity
        assert sorted(shown.order.tolist()) == list(range(n))
    # The first slot has no history: its frequencies are its propensities.
    freq = counts[0] / runs
    assert freq[3] == pytest.approx(0.7 + 0.3 / 6, abs=0.01) and freq[1] == pytest.approx(0.05, abs=0.006)
    assert (logged[0][counts[0] > 0] / counts[0][counts[0] > 0]) == pytest.approx(freq[counts[0] > 0], abs=0.01)
    none = explore(order, n, 0.0, rng)
    assert np.array_equal(none.order, order) and (none.propensity == 1).all() and not none.explored.any()
