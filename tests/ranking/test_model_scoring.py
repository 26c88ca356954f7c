"""Features, the models (cold-start heuristic and trained MLP) and the final score. Pure numpy."""

from __future__ import annotations

import numpy as np

from feed.ranking.features import FEATURES, INDEX, CandidateBatch, depersonalize, feature_matrix
from feed.ranking.model import HeuristicModel, MLPModel, load_model
from feed.ranking.scoring import Weights, fatigue_factor, score
from feed.ranking.value import DEFAULT_OBJECTIVE, objective_weights

W = objective_weights(DEFAULT_OBJECTIVE)


def batch(n: int = 4, **overrides) -> CandidateBatch:
    rng = np.random.default_rng(0)
    columns = dict(
        author_id=np.arange(n),
        age_hours=np.full(n, 5.0),
        is_friend=np.zeros(n, bool),
        is_follow=np.zeros(n, bool),
        affinity=np.zeros(n),
        cameo_me=np.zeros(n, bool),
        cameo_friend=np.zeros(n, bool),
        descendant_count=np.zeros(n),
        impressions=np.full(n, 100.0),
        views=np.full(n, 80.0),
        completion_sum=np.full(n, 40.0),
        likes=np.full(n, 5.0),
        remix_events=np.full(n, 2.0),
        negatives=np.zeros(n),
        author_volume_7d=np.full(n, 3.0),
        remixable=np.ones(n, bool),
        author_seq=np.full(n, 10),
        vectors=rng.standard_normal((n, 8)).astype(np.float32),
        viewer_create_rate=0.05,
        profile=None,
    )
    columns.update(overrides)
    return CandidateBatch(**columns)


def test_feature_matrix_columns_follow_the_names():
    b = batch(is_friend=np.array([True, False, False, False]), author_seq=np.array([1, 2, 3, 4]))
    x = feature_matrix(b)
    assert x.shape == (4, len(FEATURES))
    assert x[:, INDEX["friend"]].tolist() == [1, 0, 0, 0]
    assert x[:, INDEX["early_post"]].tolist() == [1, 1, 1, 0]
    # Rates are smoothed: no impressions means the prior, not 0/0.
    cold = feature_matrix(batch(impressions=np.zeros(4), likes=np.zeros(4)))
    assert np.allclose(cold[:, INDEX["like_rate"]], 0.06)


def test_heuristic_favours_friends_and_cannot_predict_impossible_remixes():
    model = HeuristicModel()
    b = batch(is_friend=np.array([True, False, False, False]), remixable=np.array([True, True, False, True]))
    p = model.predict(feature_matrix(b))
    assert p.like[0] > p.like[1] and p.remix[0] > p.remix[1] and p.hide[0] < p.hide[1]
    assert p.remix[2] == 0.0
    assert np.all((p.create > 0) & (p.create < 1))


def test_depersonalised_features_forget_the_viewer():
    b = batch(is_friend=np.array([True, True, False, False]), affinity=np.full(4, 9.0))
    x = depersonalize(feature_matrix(b))
    assert not x[:, INDEX["friend"]].any() and not x[:, INDEX["affinity"]].any()


def test_creation_outweighs_watch_time():
    """A post that makes people watch long but create nothing loses to one that invites creating."""
    model = HeuristicModel()
    x = feature_matrix(batch(n=2))
    pred = model.predict(x)
    pred.watch_s[:] = [60.0, 5.0]  # the first holds attention
    pred.create[:] = [0.001, 0.05]  # the second makes people create
    pred.remix[:] = [0.001, 0.03]
    s = score(x, pred, Weights(), W, age_hours=np.full(2, 5.0)).score
    assert s[1] > s[0]


def test_watch_time_is_not_in_the_value():
    """Nobody, minors included, is ranked by watch time: it is no term of the objective."""
    x = feature_matrix(batch(n=2))
    pred = HeuristicModel().predict(x)
    before = score(x, pred, Weights(), W, age_hours=np.full(2, 5.0)).score
    pred.watch_s[:] = [600.0, 0.0]
    assert np.array_equal(score(x, pred, Weights(), W, age_hours=np.full(2, 5.0)).score, before)


def test_hides_demote_the_author_for_weeks():
    assert fatigue_factor(np.array([np.inf]), 0.8, 21)[0] == 1.0
    recent, weeks_ago, long_ago = fatigue_factor(np.array([1.0, 21.0, 200.0]), 0.8, 21)
    assert recent < 0.3 and recent < weeks_ago < 0.8 and long_ago > 0.99
    x = feature_matrix(batch(n=2))
    pred = HeuristicModel().predict(x)
    s = score(x, pred, Weights(), W, age_hours=np.full(2, 5.0), days_since_author_hidden=np.array([2.0, np.inf]))
    assert s.score[0] < s.score[1]


def test_steering_multiplies_the_score():
    x = feature_matrix(batch(n=3))
    pred = HeuristicModel().predict(x)
    s = score(x, pred, Weights(), W, age_hours=np.full(3, 5.0), steer=np.array([1.0, 0.0, -1.0]))
    assert s.score[0] > s.score[1] > s.score[2]


def test_an_early_post_is_worth_its_new_creator_term():
    b = batch(n=2, is_friend=np.array([True, True]), author_seq=np.array([1, 50]))
    x = feature_matrix(b)
    s = score(x, HeuristicModel().predict(x), Weights(), W, age_hours=np.full(2, 5.0))
    assert s.part("new_creator")[0] > 0 and s.part("new_creator")[1] == 0 and s.score[0] > s.score[1]
    assert (s.part("friend") > 0).all()
    # A week old, it no longer counts as a new creator's.
    late = score(x, HeuristicModel().predict(x), Weights(), W, age_hours=np.full(2, 24 * 7.0))
    assert late.part("new_creator")[0] == 0


def test_model_file_round_trip_and_fallbacks(tmp_path):
    assert isinstance(load_model(None), HeuristicModel)
    assert isinstance(load_model(tmp_path / "missing.npz"), HeuristicModel)
    rng = np.random.default_rng(3)
    d, h = len(FEATURES), 8
    weights = {
        "mean": np.zeros(d),
        "std": np.ones(d),
        "w1": rng.normal(size=(d, h)),
        "b1": np.zeros(h),
        "w2": rng.normal(size=(h, 4)),
        "b2": np.zeros(4),
        "w3": rng.normal(size=(h, 1)),
        "b3": np.zeros(1),
    }
    path = MLPModel(weights, {"features": FEATURES}).save(tmp_path / "m.npz")
    model = load_model(path)
    assert isinstance(model, MLPModel)
    x = feature_matrix(batch())
    p = model.predict(x)
    assert p.like.shape == (4,) and np.all((p.like >= 0) & (p.like <= 1)) and np.all(p.watch_s >= 0)
    stale = MLPModel(weights, {"features": [*FEATURES[:-1], "something_else"]}).save(tmp_path / "old.npz")
    assert isinstance(load_model(stale), HeuristicModel)
