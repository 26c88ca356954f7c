"""`manage.py eval_feed --offpolicy`: off-policy estimates from the real engagement log.

Reads the for-you impressions that carry a propensity (the probability the feed showed that
post in that slot, feed/ranking/explore.py; clients send it back on the impression), with
their outcomes (a remix, or a post of the viewer's own within an hour), and the candidate
pools of the sampled sessions (ranking.PoolLog, `FEED_RANKING["POOL_LOG_SHARE"]`).

An impression belongs to the logged session of its viewer that showed its post (the latest
built before it): its slot decision is that slot's true pool, every candidate not placed in
the slots above, scored with features as of the list's build (feed/ranking/dataset.py, the
trainer's own code), and the propensity the server logged. These are the estimates.

Impressions no logged pool holds (sessions not sampled, or built before pools were logged)
fall back to the old approximation, reported apart: a viewer's impressions < 30 minutes apart
form a session and slot k's pool is what it showed from slot k on. That pool is smaller than
the one the slot was drawn from, the propensities do not describe it (mean weight 2.7-8 on the
benchmark log), and its numbers are not to be used.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from feed.ranking.dataset import logged_set_with_candidates
from feed.ranking.features import INDEX
from feed.ranking.model import current_model
from feed.ranking.selectors import LoggedPool, pool_logs_since
from feed.ranking.value import objective_of, value_terms, weights_for
from tools.feed.offpolicy import SlotLog, estimate, on_policy

SESSION_GAP_S = 30 * 60
# An impression's time is the client's clock: it may read a little before the server built the list.
CLOCK_SLACK_S = 300


def slot_log(x: np.ndarray, reward: np.ndarray, viewer, t, position, propensity) -> SlotLog:
    """Sessions (a viewer's impressions < 30 min apart), then one decision per slot with the
    rest of its session as the pool."""
    order = np.lexsort((position, t, viewer))
    v, ts = viewer[order], t[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (ts[1:] - ts[:-1] > SESSION_GAP_S)
    starts = [*np.flatnonzero(new).tolist(), len(order)]
    ptr, rows, chosen, prop, rew = [0], [], [], [], []
    for a, b in itertools.pairwise(starts):
        session = order[a:b][np.argsort(position[order[a:b]], kind="stable")]
        for k in range(len(session)):
            pool = session[k:]
            rows.append(pool)
            ptr.append(ptr[-1] + len(pool))
            chosen.append(0)  # the slot's own post is the first of what is left
            prop.append(propensity[session[k]])
            rew.append(reward[session[k]])
    return SlotLog(
        ptr=np.array(ptr, dtype=np.int64),
        x=x[np.concatenate(rows)] if rows else x[:0],
        chosen=np.array(chosen, dtype=np.int64),
        propensity=np.array(prop),
        reward=np.array(rew, dtype=np.float64),
    )


@dataclass
class PooledSlots:
    log: SlotLog
    matched: np.ndarray  # bool over the impressions: its slot is in `log`
    sessions: int  # logged sessions with at least one slot in `log`
    propensity_mismatch: int  # slots whose impression's propensity differs from the server's


def pooled_slot_log(
    pools: list[LoggedPool],
    candidate_x: np.ndarray,
    kept: np.ndarray,
    *,
    viewer: np.ndarray,
    post: np.ndarray,
    t: np.ndarray,
    reward: np.ndarray,
    propensity: np.ndarray,
) -> PooledSlots:
    """One decision per impression of a logged session: the pool is every candidate of the
    session not placed in the slots above (feed/ranking/explore.py draws from exactly those),
    the propensity the one the server logged for the slot.

    `candidate_x` holds the features of the pools' candidates laid end to end, for those
    `kept` (a post deleted since cannot be scored and leaves its pool)."""
    sizes = np.array([len(p.candidates) for p in pools], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(sizes)])
    row_of = np.cumsum(kept) - 1  # candidate position -> row of candidate_x
    # (viewer, post) -> the slots of logged sessions that showed it: (built at, pool, slot).
    shown_at: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
    for i, p in enumerate(pools):
        for k, c in enumerate(p.shown.tolist()):
            shown_at.setdefault((p.user_id, int(p.candidates[c])), []).append((p.at, i, k))
    hits: dict[int, dict[int, int]] = {}  # pool -> slot -> impression
    matched = np.zeros(len(viewer), dtype=bool)
    for j, key in enumerate(zip(viewer.tolist(), post.tolist(), strict=True)):
        before = [e for e in shown_at.get(key, ()) if e[0] <= t[j] + CLOCK_SLACK_S]
        if before:
            _, i, k = max(before)
            hits.setdefault(i, {})[k] = j
            matched[j] = True
    ptr, rows, chosen, prop, rew = [0], [], [], [], []
    mismatch = 0
    sessions = 0
    for i in sorted(hits):
        p, slot_hits = pools[i], hits[i]
        lo = offset[i]
        left = kept[lo : offset[i + 1]].copy()  # still placeable and scorable
        used = False
        for k in range(max(slot_hits) + 1):
            c = int(p.shown[k])
            j = slot_hits.get(k)
            if j is not None and left[c]:
                members = np.flatnonzero(left)
                rows.append(row_of[lo + members])
                ptr.append(ptr[-1] + len(members))
                chosen.append(int(np.searchsorted(members, c)))
                prop.append(float(p.propensity[k]))
                rew.append(float(reward[j]))
                mismatch += bool(abs(propensity[j] - p.propensity[k]) > 1e-3 * p.propensity[k])
                used = True
            elif j is not None:
                matched[j] = False  # its post is gone: no decision to score
            left[c] = False
        sessions += used
    log = SlotLog(
        ptr=np.array(ptr, dtype=np.int64),
        x=candidate_x,
        chosen=np.array(chosen, dtype=np.int64),
        propensity=np.array(prop),
        reward=np.array(rew, dtype=np.float64),
        rows=np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, dtype=np.int64),
    )
    return PooledSlots(log=log, matched=matched, sessions=sessions, propensity_mismatch=mismatch)


def _estimates(
    log: SlotLog,
    rankers: dict[str, Callable[[np.ndarray], np.ndarray]],
    reward_model: Callable[[np.ndarray], np.ndarray],
    say: Callable[[str], None],
) -> dict:
    logged = on_policy(log)
    out: dict = {
        "slots": len(log),
        "logged": {"value": logged.value, "low": logged.low, "high": logged.high},
        "rankers": {},
    }
    say(f"{len(log):,} slots; logged policy: {logged.value:.4f} [{logged.low:.4f}, {logged.high:.4f}]")
    say("| ranker | IPS | SNIPS | DR | effective sample size | mean weight (1 if the log is right) |")
    say("|---|---|---|---|---|---|")
    for name, scores in rankers.items():
        est = estimate(log, scores, reward_model=reward_model)
        out["rankers"][name] = {
            k: {"value": e.value, "low": e.low, "high": e.high, "ess": e.ess, "mean_weight": e.mean_weight}
            for k, e in est.items()
        }
        cells = " | ".join(f"{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]" for e in est.values())
        say(f"| {name} | {cells} | {est['ips'].ess:,.0f} | {est['ips'].mean_weight:.2f} |")
    return out


def run_offpolicy(*, days: int, write: bool, say: Callable[[str], None]) -> dict:
    started = time.monotonic()
    now = timezone.now()
    pools = pool_logs_since(now - timedelta(days=days))
    candidates = (
        np.concatenate([np.full(len(p.candidates), p.user_id, dtype=np.int64) for p in pools] or [np.zeros(0)]),
        np.concatenate([p.candidates for p in pools] or [np.zeros(0)]),
        np.concatenate([np.full(len(p.candidates), p.at) for p in pools] or [np.zeros(0)]),
    )
    say(f"{len(pools):,} logged pools ({len(candidates[0]):,} candidates)")
    data, candidate_x, kept = logged_set_with_candidates(now=now, days=days, candidates=candidates, say=say)
    model = current_model(settings.FEED_RANKING.get("MODEL_PATH"))
    result: dict = {"impressions": len(data), "model": model.name, "days": days, "pool_logs": len(pools)}
    if not len(data):
        say("No for-you impressions with a propensity in the log yet (clients send it back on impressions).")
    else:
        reward = np.maximum(data.y[:, 0], data.y[:, 1])  # remixed it, or created within the hour
        objective = objective_of(settings.FEED_RANKING.get("OBJECTIVE"))
        weights, fitted = weights_for(model.meta, objective)
        result["fitted_value_weights"] = fitted

        def age_hours(x: np.ndarray) -> np.ndarray:
            return -24.0 * np.log(np.clip(x[:, INDEX["freshness"]], 1e-12, 1.0))

        def p_creation(x: np.ndarray) -> np.ndarray:
            p = model.predict(x)
            return 1 - (1 - p.create) * (1 - p.remix)

        rankers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "for_you_value": lambda x: value_terms(x, model.predict(x), age_hours=age_hours(x)) @ weights,
            "creation_only": p_creation,
            "watch_time": lambda x: model.predict(x).watch_s,
            "newest_first": lambda x: x[:, INDEX["freshness"]],
        }
        pooled = pooled_slot_log(
            pools,
            candidate_x,
            kept,
            viewer=data.extra["viewer"],
            post=data.extra["post"],
            t=data.extra["logged_at"],  # the impression that carried the propensity
            reward=reward,
            propensity=data.extra["propensity"],
        )
        rest = ~pooled.matched
        result["pooled"] = {
            "sessions": pooled.sessions,
            "slots": len(pooled.log),
            "propensity_mismatch": pooled.propensity_mismatch,
        }
        if len(pooled.log):
            say(
                f"From logged pools (slot k's pool: the session's candidates not placed above it): "
                f"{pooled.sessions:,} sessions; {pooled.propensity_mismatch:,} slots whose impression's "
                "propensity differs from the server's"
            )
            result.update(_estimates(pooled.log, rankers, p_creation, say))
        if rest.any():
            say(
                f"{int(rest.sum()):,} impressions have no logged pool: their pools are APPROXIMATED by what their "
                "session showed from slot k on (the old method; biased, the mean weight shows by how much). "
                + ("Reported apart, not to be used:" if len(pooled.log) else "NOT TO BE USED:")
            )
            approx = slot_log(
                data.x[rest],
                reward[rest],
                data.extra["viewer"][rest],
                data.t[rest],
                data.extra["position"][rest],
                data.extra["propensity"][rest],
            )
            approximated = _estimates(approx, rankers, p_creation, say)
            if len(pooled.log):
                result["approximated"] = approximated
            else:
                result.update(approximated, pools="approximated")
    result["seconds"] = round(time.monotonic() - started, 1)
    if write:
        from benchmarks.common import write_result

        metrics = {
            f"{name}_{est}": round(vals["value"], 5)
            for name, by in result.get("rankers", {}).items()
            for est, vals in by.items()
        }
        if "logged" in result:
            metrics["logged"] = round(result["logged"]["value"], 5)
        path = write_result(
            "feed_offpolicy",
            params={k: v for k, v in result.items() if k not in ("rankers", "logged")}
            | {"intervals": result.get("rankers", {}), "logged": result.get("logged")},
            metrics=metrics,
            units=dict.fromkeys(metrics, "creations per slot"),
        )
        result["path"] = str(path)
        say(f"wrote {path}")
    return result
