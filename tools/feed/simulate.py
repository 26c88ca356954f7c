"""The offline evaluation: a simulated population scrolling feeds ranked several ways. No Django.

Simulated (synthetic.py): the population, its graph and posts, and the behaviour model that
turns "viewer v saw post p" into probabilities of watching, liking, remixing, creating and
hiding. Also simulated: a past engagement log (a few dozen impressions per user, drawn
from friends', followed, popular and random posts) from which the post counters, the
viewers' affinities and taste vectors come, and on which the ranker is trained.

Real (production code): the features (`features.feature_matrix`), the trained model
(`train.train_mlp` → `model.MLPModel`), the value, score and re-rank (`services.rank_candidates`,
passed in as a policy). The candidate sources are restated over the in-memory arrays with
the production budgets and windows (the SQL versions need a database).

Policies compared, on the same viewers: the ones `evaluation.POLICIES` lists (for-you, its
value alone, watch time with and without the re-rank, ...) passed in as functions, and
reverse-chronological. Which behaviour model the population follows is its `world`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from feed.ranking.features import CandidateBatch, feature_matrix, viewer_create_rate
from feed.ranking.train import TrainingSet
from tools.feed.synthetic import DAY, REMIX_ANYONE, VIS_PUBLIC, Population

HISTORY_PER_USER = 30
NEW_CREATOR_HOURS = 72


@dataclass
class History:
    """The simulated past log, aggregated the way the production tables hold it."""

    seen: dict[int, set[int]]
    affinity: dict[tuple[int, int], float]
    hidden_authors: dict[int, set[int]]
    impressions: np.ndarray
    views: np.ndarray
    completion_sum: np.ndarray
    likes: np.ndarray
    remix_events: np.ndarray
    negatives: np.ndarray
    profile_sum: np.ndarray  # (U, d) weighted vectors of what each user liked, remixed, watched
    views_per_user: np.ndarray
    rows: dict[str, np.ndarray]  # the raw impressions, for training


def simulate_history(pop: Population, rng: np.random.Generator, per_user: int = HISTORY_PER_USER) -> History:
    n = pop.n_users * per_user
    viewer = np.repeat(np.arange(pop.n_users), per_user)
    kind = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    recent = np.flatnonzero(pop.post_time >= pop.now - 7 * DAY)
    post = recent[rng.integers(0, len(recent), n)]
    deg = pop.graph.out_degree()[viewer]
    social = (kind == 0) & (deg > 0)
    edge = pop.graph.ptr[viewer[social]] + (rng.random(int(social.sum())) * deg[social]).astype(np.int64)
    followee = pop.graph.dst[edge]
    count = pop.author_ptr[followee + 1] - pop.author_ptr[followee]
    ok = count > 0
    rows = np.flatnonzero(social)[ok]
    post[rows] = pop.author_posts[
        pop.author_ptr[followee[ok]]
        + count[ok]
        - 1
        - (rng.random(int(ok.sum())) * np.minimum(count[ok], 10)).astype(np.int64)
    ]
    fam = np.flatnonzero(kind == 1)
    has_posts = np.diff(pop.author_ptr) > 0
    w = pop.fame * has_posts
    a = rng.choice(pop.n_users, size=len(fam), p=w / w.sum())
    c = pop.author_ptr[a + 1] - pop.author_ptr[a]
    post[fam] = pop.author_posts[
        pop.author_ptr[a] + c - 1 - (rng.random(len(fam)) * np.minimum(c, 20)).astype(np.int64)
    ]
    keep = pop.visible(viewer, post) & (pop.post_author[post] != viewer)
    viewer, post = viewer[keep], post[keep]
    r = pop.respond(viewer, post)
    m = len(viewer)
    # When each impression happened: some time after the post, before now (the ranker's
    # holdout is the latest of them).
    shown_at = np.minimum(pop.post_time[post] + rng.exponential(DAY, m), pop.now - 60.0)
    viewed = rng.random(m) < 0.85
    completion = np.clip(r["completion"] + rng.normal(0, 0.15, m), 0, 1) * viewed
    like = viewed & (rng.random(m) < r["like"])
    remix = viewed & (rng.random(m) < r["remix"])
    create = viewed & (rng.random(m) < r["create"])
    hide = viewed & (rng.random(m) < r["hide"])
    P = pop.n_posts
    hist = History(
        seen=defaultdict(set),
        affinity=defaultdict(float),
        hidden_authors=defaultdict(set),
        impressions=np.bincount(post, minlength=P).astype(float),
        views=np.bincount(post, weights=viewed, minlength=P),
        completion_sum=np.bincount(post, weights=completion, minlength=P),
        likes=np.bincount(post, weights=like, minlength=P),
        remix_events=np.bincount(post, weights=remix, minlength=P),
        negatives=np.bincount(post, weights=hide, minlength=P),
        profile_sum=np.zeros((pop.n_users, 384), dtype=np.float32),
        views_per_user=np.bincount(viewer, weights=viewed, minlength=pop.n_users),
        rows={
            "viewer": viewer,
            "post": post,
            "like": like,
            "remix": remix,
            "create": create,
            "hide": hide,
            "viewed": viewed,
            "watch_s": completion * 10.0,
            "t": shown_at,
        },
    )
    author = pop.post_author[post]
    weight = 2.0 * like + 4.5 * remix + 0.5 * (completion >= 0.5)
    for v, p, au, wt, h in zip(
        viewer.tolist(), post.tolist(), author.tolist(), weight.tolist(), hide.tolist(), strict=True
    ):
        hist.seen[v].add(p)
        if wt:
            hist.affinity[(v, au)] += wt
        if h:
            hist.hidden_authors[v].add(au)
    vec_w = (2.0 * like + 3.0 * remix + 0.5 * (completion >= 0.5)).astype(np.float32)
    for start in range(0, m, 200_000):
        s = slice(start, start + 200_000)
        np.add.at(hist.profile_sum, viewer[s], pop.vectors(post[s]) * vec_w[s, None])
    return hist


class Sources:
    """The production candidate sources, over the population's arrays."""

    def __init__(self, pop: Population, hist: History, budgets: dict[str, int]) -> None:
        self.pop, self.hist, self.budgets = pop, hist, budgets
        now = pop.now
        self.cameo_posts: dict[int, list[int]] = defaultdict(list)
        for p in np.flatnonzero(pop.post_cameo_owner >= 0).tolist():
            self.cameo_posts[int(pop.post_cameo_owner[p])].append(p)
        self.root_posts: dict[int, list[int]] = defaultdict(list)
        for p in np.flatnonzero(pop.post_remix_of >= 0).tolist():
            self.root_posts[int(pop.post_root[p])].append(p)
        recent3 = np.flatnonzero(
            (pop.post_time >= now - 3 * DAY)
            & (pop.post_visibility == VIS_PUBLIC)
            & (pop.post_remix_perm == REMIX_ANYONE)
        )
        age_h = (now - pop.post_time[recent3]) / 3600
        trend = (5 * pop.descendant_count[recent3] + hist.likes[recent3] + 1) / (age_h + 2) ** 1.5
        self.trending = recent3[np.argsort(-trend)][:1000]
        self.by_topic = {}
        week = pop.post_time >= now - 7 * DAY
        for t in range(pop.post_topic.max() + 1):
            self.by_topic[t] = np.flatnonzero(week & (pop.post_topic == t))[::-1]
        day = np.flatnonzero((pop.post_time >= now - DAY) & (pop.post_visibility == VIS_PUBLIC))[::-1]
        early = np.flatnonzero((pop.post_time >= now - 3 * DAY) & (pop.post_seq <= 3))[::-1]
        self.fresh_pool = (day[: budgets["fresh"] * 5], early[: budgets["fresh"] * 5])

    def _recent_of(self, authors: np.ndarray, days: float, per: int, budget: int) -> list[int]:
        pop = self.pop
        out = []
        for a in authors.tolist():
            posts = pop.posts_of(a)
            posts = posts[pop.post_time[posts] >= pop.now - days * DAY][-per:]
            out.extend(posts.tolist())
        out.sort(key=lambda p: -pop.post_time[p])
        return out[:budget]

    def gather(self, u: int, rng: np.random.Generator, topics: list[int]) -> dict[int, list[str]]:
        pop, b = self.pop, self.budgets
        friends = pop.graph.friends(u)
        following = np.setdiff1d(pop.graph.following(u), friends)
        if len(following) > 400:
            following = rng.choice(following, 400, replace=False)
        own = pop.posts_of(u)
        roots = {int(pop.post_root[p]) for p in own.tolist()}
        found: dict[int, list[str]] = {}
        proposals = {
            "friends": self._recent_of(friends[:400], 14, 5, b["friends"]),
            "following": self._recent_of(following, 7, 3, b["following"]),
            "cameos": sorted(
                [p for o in [u, *friends.tolist()] for p in self.cameo_posts.get(o, [])[-10:]], reverse=True
            )[: b["cameos"]],
            "chains": sorted([p for r in roots for p in self.root_posts.get(r, [])[-10:]], reverse=True)[: b["chains"]],
            "trending": self.trending[: 2 * b["trending"]].tolist(),
            "similar": [
                p for t in topics for p in self.by_topic[t][: max(1, b["similar"] // max(1, len(topics)))].tolist()
            ],
            "fresh": rng.permutation(np.union1d(*self.fresh_pool))[: b["fresh"]].tolist(),
        }
        seen = self.hist.seen.get(u, set())
        for name, ids in proposals.items():
            taken = 0
            for p in ids:
                if p in seen:
                    continue
                if p in found:
                    found[p].append(name)
                elif taken < b[name]:
                    found[p] = [name]
                    taken += 1
        ids = np.array(list(found), dtype=np.int64)
        if len(ids):
            ok = pop.visible(np.full(len(ids), u), ids) & (pop.post_author[ids] != u)
            found = {int(p): found[int(p)] for p in ids[ok].tolist()}
        return found


def viewer_state(pop: Population, hist: History, u: int) -> tuple[np.ndarray | None, float]:
    own = pop.posts_of(u)
    own = own[pop.post_time[own] >= pop.now - 30 * DAY]
    total = hist.profile_sum[u].astype(np.float64)
    if len(own):
        total = total + 3.0 * pop.vectors(own).sum(axis=0)
    norm = np.linalg.norm(total)
    return (total / norm if norm > 0 else None), viewer_create_rate(len(own), int(hist.views_per_user[u]))


def candidate_batch(
    pop: Population, hist: History, u: int, ids: np.ndarray, *, exclude_row: dict | None = None
) -> tuple[CandidateBatch, np.ndarray]:
    """The production CandidateBatch for viewer u (exclude_row: take a training row's own
    outcome out of the counters it would otherwise leak into)."""
    author = pop.post_author[ids]
    friend = pop.graph.has(np.full(len(ids), u), author) & pop.graph.has(author, np.full(len(ids), u))
    follow = pop.graph.has(np.full(len(ids), u), author)
    owner = pop.post_cameo_owner[ids]
    fr = set(pop.graph.friends(u).tolist())
    profile, create_rate = viewer_state(pop, hist, u)
    counts = np.array([np.searchsorted(pop.post_time[pop.posts_of(a)], pop.now - 7 * DAY) for a in author.tolist()])
    volume = np.minimum(np.diff(pop.author_ptr)[author] - counts, 30)
    hidden_days = np.array([3.0 if a in hist.hidden_authors.get(u, ()) else np.inf for a in author.tolist()])
    batch = CandidateBatch(
        author_id=author.astype(np.int64),
        age_hours=(pop.now - pop.post_time[ids]) / 3600,
        is_friend=friend,
        is_follow=follow,
        affinity=np.array([hist.affinity.get((u, a), 0.0) for a in author.tolist()]),
        cameo_me=owner == u,
        cameo_friend=np.array([o in fr for o in owner.tolist()]),
        descendant_count=pop.descendant_count[ids].astype(float),
        impressions=hist.impressions[ids],
        views=hist.views[ids],
        completion_sum=hist.completion_sum[ids],
        likes=hist.likes[ids],
        remix_events=hist.remix_events[ids],
        negatives=hist.negatives[ids],
        author_volume_7d=volume.astype(float),
        remixable=pop.remixable(np.full(len(ids), u), ids).astype(bool),
        author_seq=pop.post_seq[ids].astype(np.int64),
        vectors=pop.vectors(ids),
        viewer_create_rate=create_rate,
        profile=profile,
    )
    return batch, hidden_days


def training_set(pop: Population, hist: History, rng: np.random.Generator, max_rows: int = 200_000) -> TrainingSet:
    """The simulated log as training rows, features from the production function."""
    rows = hist.rows
    pick = rng.permutation(len(rows["viewer"]))[:max_rows]
    order = pick[np.argsort(rows["viewer"][pick], kind="stable")]
    xs = []
    viewers = rows["viewer"][order]
    bounds = np.flatnonzero(np.diff(viewers)) + 1
    for chunk in np.split(order, bounds):
        u = int(rows["viewer"][chunk[0]])
        batch, _ = candidate_batch(pop, hist, u, rows["post"][chunk])
        # The row's own outcome is in the counters: take it out (no label leakage).
        batch.impressions = np.maximum(batch.impressions - 1, 0)
        batch.likes = np.maximum(batch.likes - rows["like"][chunk], 0)
        batch.remix_events = np.maximum(batch.remix_events - rows["remix"][chunk], 0)
        batch.negatives = np.maximum(batch.negatives - rows["hide"][chunk], 0)
        xs.append(feature_matrix(batch))
    y = np.stack([rows[k][order] for k in ("remix", "create", "like", "hide")], axis=1).astype(np.float32)
    return TrainingSet(np.concatenate(xs), y, rows["watch_s"][order], rows["viewed"][order], rows["t"][order])


def gini(values: np.ndarray) -> float:
    v = np.sort(np.asarray(values, dtype=np.float64))
    if v.sum() == 0:
        return 0.0
    n = len(v)
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * v.sum()))


# A ranked policy: (viewer, candidate ids, their sources, batch, days since each author was
# hidden) -> post ids in scroll order.
Rank = Callable[..., list[int]]


def reference_pairs(pop: Population, rng: np.random.Generator, n: int = 60_000) -> tuple[np.ndarray, np.ndarray]:
    """(viewers, posts) the worlds are calibrated on: half recent posts of accounts the viewer
    follows, half recent posts of anyone (roughly what feeds show)."""
    recent = np.flatnonzero(pop.post_time >= pop.now - 7 * DAY)
    viewer = rng.integers(0, pop.n_users, n)
    post = recent[rng.integers(0, len(recent), n)]
    deg = pop.graph.out_degree()[viewer]
    social = (np.arange(n) < n // 2) & (deg > 0)
    edge = pop.graph.ptr[viewer[social]] + (rng.random(int(social.sum())) * deg[social]).astype(np.int64)
    followee = pop.graph.dst[edge]
    count = pop.author_ptr[followee + 1] - pop.author_ptr[followee]
    ok = count > 0
    rows = np.flatnonzero(social)[ok]
    post[rows] = pop.author_posts[pop.author_ptr[followee[ok]] + count[ok] - 1]
    keep = pop.visible(viewer, post) & (pop.post_author[post] != viewer)
    return viewer[keep], post[keep]


def chronological(pop: Population, u: int, items: int) -> np.ndarray:
    """Posts of followed accounts and friends from the last 14 days, newest first."""
    authors = np.concatenate([pop.graph.following(u), pop.graph.friends(u)])
    if not len(authors):
        return np.zeros(0, dtype=np.int64)
    chrono = np.concatenate([pop.posts_of(a)[pop.post_time[pop.posts_of(a)] >= pop.now - 14 * DAY] for a in authors])
    if not len(chrono):
        return np.zeros(0, dtype=np.int64)
    chrono = np.unique(chrono)
    chrono = chrono[pop.visible(np.full(len(chrono), u), chrono)]
    return chrono[np.argsort(-pop.post_time[chrono])][:items].astype(np.int64)


@dataclass
class Evaluation:
    """Each policy's summary metrics, and per session the expected creations and hides (for
    paired confidence intervals between policies: the sessions are the same viewers)."""

    metrics: dict[str, dict[str, float]]
    creations: dict[str, np.ndarray]
    hides: dict[str, np.ndarray]
    new_creators: int
    posting_authors_7d: int


def evaluate(
    pop: Population,
    hist: History,
    sources: Sources,
    policies: dict[str, Rank],
    *,
    sessions: int,
    items: int,
    seed: int,
    say: Callable[[str], None] = lambda _m: None,
) -> Evaluation:
    """Every policy (and reverse-chronological) shows `items` posts to the same `sessions`
    viewers; expected outcomes come from the population's behaviour model, the feedback a new
    creator's first post gets is drawn with the same random numbers for every policy."""
    from feed.ranking import topics as topic_mod

    rng = np.random.default_rng(seed)
    viewers = rng.choice(pop.n_users, size=sessions, replace=sessions > pop.n_users)
    first_posts = np.flatnonzero((pop.post_seq == 1) & (pop.post_time >= pop.now - NEW_CREATOR_HOURS * 3600))
    first_posts = set(first_posts[pop.post_visibility[first_posts] != 3].tolist())
    posting_authors = np.unique(pop.post_author[pop.post_time >= pop.now - 7 * DAY])
    names = [*policies, "chronological"]
    shown: dict[str, list[np.ndarray]] = {p: [] for p in names}
    per_session: dict[str, list[dict]] = {p: [] for p in names}
    got_feedback: dict[str, set[int]] = {p: set() for p in names}
    for k, u in enumerate(viewers.tolist()):
        srng = np.random.default_rng(seed * 1_000_003 + k)
        profile, _ = viewer_state(pop, hist, u)
        topics = [] if profile is None else np.argsort(-(topic_mod.topic_vectors() @ profile))[:3].tolist()
        found = sources.gather(u, srng, topics)
        ids = np.array(list(found), dtype=np.int64)
        lists: dict[str, np.ndarray] = {}
        if len(ids):
            batch, hidden_days = candidate_batch(pop, hist, u, ids)
            for name, rank in policies.items():
                lists[name] = np.array(rank(u, ids, found, batch, hidden_days)[:items], dtype=np.int64)
        else:
            lists = {name: np.zeros(0, dtype=np.int64) for name in policies}
        lists["chronological"] = chronological(pop, u, items)
        draws = srng.random((2, items))
        for name in names:
            posts = lists[name]
            shown[name].append(posts)
            if not len(posts):
                per_session[name].append(
                    {"creations": 0.0, "friends": 0, "friends_top": 0, "n_top": 0, "remixable": 0, "n": 0}
                    | {"watch": 0.0, "hides": 0.0}
                )
                continue
            r = pop.respond(np.full(len(posts), u), posts)
            reacted = (draws[0, : len(posts)] < r["like"]) | (draws[1, : len(posts)] < r["remix"])
            got_feedback[name].update(posts[reacted].tolist())
            per_session[name].append(
                {
                    "creations": float((r["create"] + r["remix"]).sum()),
                    "friends": int(r["friend"].sum()),
                    "friends_top": int(r["friend"][:10].sum()),
                    "n_top": min(10, len(posts)),
                    "remixable": int(r["remixable"].sum()),
                    "n": len(posts),
                    "watch": float((r["completion"] * 10.0).sum()),
                    "hides": float(r["hide"].sum()),
                }
            )
        if (k + 1) % 100 == 0:
            say(f"  {k + 1:,}/{sessions:,} sessions")
    out: dict[str, dict[str, float]] = {}
    for name in names:
        rows = per_session[name]
        n = sum(r["n"] for r in rows)
        impressions = np.concatenate(shown[name]) if shown[name] else np.zeros(0, dtype=np.int64)
        per_author = np.bincount(pop.post_author[impressions], minlength=pop.n_users)[posting_authors]
        out[name] = {
            "friends_share": sum(r["friends"] for r in rows) / max(1, n),
            "friends_share_first_10": sum(r["friends_top"] for r in rows) / max(1, sum(r["n_top"] for r in rows)),
            "remixable_share": sum(r["remixable"] for r in rows) / max(1, n),
            "author_gini": gini(per_author),
            "top_1pct_authors_share": float(
                np.sort(per_author)[::-1][: max(1, len(per_author) // 100)].sum() / max(1, per_author.sum())
            ),
            "first_post_feedback_share": len(got_feedback[name] & first_posts) / max(1, len(first_posts)),
            "expected_creations_per_session": float(np.mean([r["creations"] for r in rows])),
            "expected_watch_s_per_session": float(np.mean([r["watch"] for r in rows])),
            "expected_hides_per_session": float(np.mean([r["hides"] for r in rows])),
            "items_per_session": n / max(1, len(rows)),
        }
    return Evaluation(
        metrics=out,
        creations={name: np.array([r["creations"] for r in per_session[name]]) for name in names},
        hides={name: np.array([r["hides"] for r in per_session[name]]) for name in names},
        new_creators=len(first_posts),
        posting_authors_7d=len(posting_authors),
    )
