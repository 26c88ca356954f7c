"""The off-policy estimators recover a known policy's value from a simulated exploration log."""

from __future__ import annotations

import numpy as np
import pytest

from feed.ranking.explore import explore
from tools.feed.offpolicy import SlotLog, estimate, on_policy


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


BETA = np.array([1.2, -0.8, 0.5, 0.0])  # what truly drives the reward
LOGGER = np.array([0.2, 0.6, 0.0, 1.0])  # what the logging ranker believes
TARGET = np.array([1.0, -0.5, 0.3, 0.2])  # the candidate ranker under evaluation


def simulated_log(decisions: int, share: float, seed: int) -> tuple[SlotLog, float]:
    """Sessions of 5 slots over pools of 8–20 candidates. The logging policy is the feed's
    own exploration (feed.ranking.explore) over the logger's order; rewards are Bernoulli with
    known probabilities, so the target's true value is known exactly: the mean, over the
    logged slots' pools, of the true reward probability of the candidate it would show."""
    rng = np.random.default_rng(seed)
    ptr, xs, chosen, propensity, reward, truth = [0], [], [], [], [], []
    while len(chosen) < decisions:
        k = int(rng.integers(8, 21))
        x = rng.standard_normal((k, len(BETA)))
        p_true = _sigmoid(x @ BETA - 2.0)
        shown = explore(np.argsort(-(x @ LOGGER), kind="stable"), k, share, rng)
        left = np.ones(k, dtype=bool)
        for slot in range(5):
            pool = np.flatnonzero(left)  # the candidates this slot could show
            pick = int(shown.order[slot])
            xs.append(x[pool])
            ptr.append(ptr[-1] + len(pool))
            chosen.append(int(np.flatnonzero(pool == pick)[0]))
            propensity.append(shown.propensity[slot])
            reward.append(float(rng.random() < p_true[pick]))
            truth.append(p_true[pool[int(np.argmax(x[pool] @ TARGET))]])
            left[pick] = False
    log = SlotLog(
        ptr=np.array(ptr, dtype=np.int64),
        x=np.concatenate(xs),
        chosen=np.array(chosen),
        propensity=np.array(propensity),
        reward=np.array(reward),
    )
    return log, float(np.mean(truth))


def test_ips_snips_and_dr_recover_the_target_value_within_their_intervals():
    log, truth = simulated_log(60_000, share=0.3, seed=4)
    # A reward model that is right in direction, wrong in scale (DR must not need it right).
    estimates = estimate(log, lambda x: x @ TARGET, reward_model=lambda x: _sigmoid(0.6 * (x @ BETA) - 1.5))
    for name in ("ips", "snips", "dr"):
        e = estimates[name]
        assert e.covers(truth), (name, e, truth)
        assert e.high - e.low < 0.1, (name, e)  # informative, not a vacuous interval
    # The weights average 1 under the logging policy (the check eval_feed --offpolicy prints).
    assert abs(estimates["ips"].mean_weight - 1) < 0.1
    # What the logger itself earned differs from the target's value: the weighting matters.
    logged = on_policy(log)
    assert not logged.covers(truth)
    assert estimates["dr"].high - estimates["dr"].low < estimates["ips"].high - estimates["ips"].low


def test_the_logging_policy_evaluated_off_policy_is_its_own_mean_reward():
    log, _ = simulated_log(20_000, share=0.2, seed=5)
    e = estimate(log, lambda x: x @ LOGGER)  # same order as the logger's greedy choice
    assert e["snips"].covers(on_policy(log).value)


def pooled_sessions(sessions: int, share: float, seed: int):
    """Sessions as the feed logs a sampled one: a pool of 8–20 candidates in the logger's order,
    5 slots drawn by feed.ranking.explore, kept as ranking.PoolLog rows; the viewer scrolls
    1–5 slots deep (independently of what is shown) and each slot reached is an impression
    with the served propensity and a Bernoulli reward of known probability."""
    rng = np.random.default_rng(seed)
    pools, xs, impressions, truth = [], [], [], []
    post_id = 0
    t0 = 1.8e9
    for s in range(sessions):
        k = int(rng.integers(8, 21))
        x = rng.standard_normal((k, len(BETA)))
        x = x[np.argsort(-(x @ LOGGER), kind="stable")]  # stored in the logger's order
        p_true = _sigmoid(x @ BETA - 2.0)
        shown = explore(np.arange(k), k, share, rng)
        ids = np.arange(post_id, post_id + k)
        post_id += k
        viewer, at = int(rng.integers(0, 300)), t0 + 60.0 * s
        pools.append((viewer, at, ids, shown.order[:5], shown.propensity[:5]))
        xs.append(x)
        left = np.ones(k, dtype=bool)
        for slot in range(int(rng.integers(1, 6))):
            pick = int(shown.order[slot])
            pool = np.flatnonzero(left)
            truth.append(p_true[pool[int(np.argmax(x[pool] @ TARGET))]])
            reward = float(rng.random() < p_true[pick])
            impressions.append((viewer, int(ids[pick]), at + 6.0 * slot, reward, shown.propensity[slot], slot))
            left[pick] = False
    return pools, np.concatenate(xs), np.array(impressions), float(np.mean(truth))


@pytest.mark.django_db
def test_the_evaluator_recovers_a_known_value_from_logged_pools():
    from datetime import UTC, datetime

    from feed.ranking.models import PoolLog
    from feed.ranking.selectors import pool_logs_since
    from tools.feed.offpolicy_log import pooled_slot_log, slot_log

    pools, x, imp, truth = pooled_sessions(20_000, share=0.3, seed=11)
    PoolLog.objects.bulk_create(
        PoolLog(
            user_id=viewer,
            session=f"s{i}",
            created_at=datetime.fromtimestamp(at, tz=UTC),
            explore_share=0.3,
            candidates=ids.tolist(),
            shown=shown.tolist(),
            propensity=prop.tolist(),
        )
        for i, (viewer, at, ids, shown, prop) in enumerate(pools)
    )
    logged = pool_logs_since(datetime.fromtimestamp(1.7e9, tz=UTC))
    assert len(logged) == len(pools)
    viewer, post, t = imp[:, 0].astype(np.int64), imp[:, 1].astype(np.int64), imp[:, 2]
    reward, propensity, position = imp[:, 3], imp[:, 4], imp[:, 5].astype(np.int64)
    # Two impressions no pool holds (another surface's session, say): left to the fallback.
    viewer, post = np.append(viewer, [1, 2]), np.append(post, [10**9, 10**9 + 1])
    t, reward = np.append(t, [2e9, 2e9]), np.append(reward, [0.0, 1.0])
    propensity, position = np.append(propensity, [0.5, 0.5]), np.append(position, [0, 1])
    pooled = pooled_slot_log(
        logged,
        x.astype(np.float32),
        np.ones(len(x), dtype=bool),
        viewer=viewer,
        post=post,
        t=t,
        reward=reward,
        propensity=propensity,
    )
    assert pooled.matched.sum() == len(imp) and not pooled.matched[-2:].any()
    assert len(pooled.log) == len(imp) and pooled.propensity_mismatch == 0
    estimates = estimate(pooled.log, lambda z: z @ TARGET, reward_model=lambda z: _sigmoid(0.6 * (z @ BETA) - 1.5))
    for name in ("ips", "snips", "dr"):
        assert estimates[name].covers(truth), (name, estimates[name], truth)
        assert estimates[name].high - estimates[name].low < 0.1
    assert abs(estimates["ips"].mean_weight - 1) < 0.1
    # The old approximation on the same impressions (pool = what the session showed from slot
    # k on) is what the pool logs replace: its weights do not average 1.
    m = pooled.matched
    start = np.cumsum([0] + [len(p[2]) for p in pools])
    rows = np.array(
        [
            start[i] + int(np.flatnonzero(pools[i][2] == p)[0])
            for i, p in zip(np.searchsorted(start, post[m], side="right") - 1, post[m].tolist(), strict=True)
        ]
    )
    old = slot_log(x[rows], reward[m], viewer[m], t[m], position[m], propensity[m])
    assert estimate(old, lambda z: z @ TARGET)["ips"].mean_weight > 1.3
