"""A synthetic population for the offline evaluation and the latency benchmark. No Django.

What is *simulated* (and only here): who the users are (friend clusters, a power-law of
fame and of posting, topic tastes, how much each one creates), the follow graph, the posts
(topic, appeal, lineage, audience, remix permission, cameos) and the **behaviour model**:
how likely a given viewer is to watch, like, remix, create after viewing, or hide a given
post. What drives creating and remixing is the population's `world` (worlds.py: several
that disagree); the rest of the behaviour is shared. Everything that ranks — features,
model, scoring, re-ranking — is the production code.

Indices are 0-based here; `seed_feed_bench` writes user i as id i+1 and post j as id j+1
(posts are numbered in time order, as a live database numbers them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from feed.ranking import topics
from tools.feed.worlds import SOCIAL, World

DAY = 86400.0
VIS_PUBLIC, VIS_FOLLOWERS, VIS_FRIENDS, VIS_PRIVATE = 0, 1, 2, 3
VISIBILITY = ["public", "followers", "friends", "private"]
REMIX_ANYONE, REMIX_FRIENDS, REMIX_NOBODY = 0, 1, 2
REMIX_PERMISSION = ["anyone", "friends", "nobody"]
VIDEO_SECONDS = 10.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Graph:
    """Directed follow edges as sorted int64 codes src*U+dst, plus CSR adjacency."""

    n: int
    codes: np.ndarray  # sorted
    src: np.ndarray
    dst: np.ndarray
    ptr: np.ndarray  # CSR over src: dst[ptr[u]:ptr[u+1]]
    mutual: np.ndarray  # per edge: the reverse edge exists

    @classmethod
    def build(cls, n: int, src: np.ndarray, dst: np.ndarray) -> Graph:
        keep = src != dst
        codes = np.unique(src[keep].astype(np.int64) * n + dst[keep].astype(np.int64))
        src = (codes // n).astype(np.int32)
        dst = (codes % n).astype(np.int32)
        ptr = np.searchsorted(src, np.arange(n + 1)).astype(np.int64)
        reverse = dst.astype(np.int64) * n + src
        pos = np.searchsorted(codes, reverse)
        pos = np.minimum(pos, len(codes) - 1)
        mutual = codes[pos] == reverse
        return cls(n=n, codes=codes, src=src, dst=dst, ptr=ptr, mutual=mutual)

    def has(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        q = np.asarray(a, dtype=np.int64) * self.n + np.asarray(b, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.codes, q), len(self.codes) - 1)
        return self.codes[pos] == q

    def following(self, u: int) -> np.ndarray:
        return self.dst[self.ptr[u] : self.ptr[u + 1]]

    def friends(self, u: int) -> np.ndarray:
        s = slice(self.ptr[u], self.ptr[u + 1])
        return self.dst[s][self.mutual[s]]

    def out_degree(self) -> np.ndarray:
        return np.diff(self.ptr)

    def in_degree(self) -> np.ndarray:
        return np.bincount(self.dst, minlength=self.n)


@dataclass
class Population:
    n_users: int
    n_posts: int
    now: float  # epoch seconds
    days: float
    cluster: np.ndarray
    taste: np.ndarray  # (U, T) topic preferences, rows sum to 1
    fame: np.ndarray  # (U,)
    create_prop: np.ndarray  # (U,) how much a user creates
    is_minor: np.ndarray  # (U,)
    has_cameo: np.ndarray  # (U,)
    graph: Graph
    post_author: np.ndarray  # (P,) int32
    post_time: np.ndarray  # (P,) float64, ascending
    post_topic: np.ndarray  # (P,) int16
    post_quality: np.ndarray  # (P,) polish: what holds attention
    post_appeal: np.ndarray  # (P,) how much it invites a remix (a template, a trend)
    post_remix_of: np.ndarray  # (P,) int32, -1 for originals
    post_root: np.ndarray
    post_depth: np.ndarray
    post_visibility: np.ndarray  # int8 codes
    post_remix_perm: np.ndarray  # int8 codes
    post_cameo_owner: np.ndarray  # (P,) int32, -1 without
    post_seq: np.ndarray  # (P,) the author's ordinal of the post (1 = first)
    descendant_count: np.ndarray
    remix_count: np.ndarray
    author_ptr: np.ndarray  # CSR: posts of author u are author_posts[author_ptr[u]:author_ptr[u+1]], in time order
    author_posts: np.ndarray
    noise_a: np.ndarray  # banks of noise vectors for the embeddings
    noise_b: np.ndarray
    noise_scale: float = 0.8
    world: World = SOCIAL

    # --- embeddings: a real MiniLM topic centroid plus deterministic noise per post ---------

    def vectors(self, posts: np.ndarray) -> np.ndarray:
        posts = np.asarray(posts, dtype=np.int64)
        centroids = topics.topic_vectors()[self.post_topic[posts]]
        noise = self.noise_a[posts % len(self.noise_a)] + self.noise_b[(posts // len(self.noise_a)) % len(self.noise_b)]
        v = centroids + self.noise_scale * noise / np.sqrt(2 * centroids.shape[1])
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    # --- the behaviour model ----------------------------------------------------------------

    def factors(self, viewers: np.ndarray, posts: np.ndarray) -> dict[str, np.ndarray]:
        """What a behaviour model may respond to, per (viewer, post) pair (see worlds.py)."""
        viewers = np.asarray(viewers, dtype=np.int64)
        posts = np.asarray(posts, dtype=np.int64)
        author = self.post_author[posts]
        friend = (self.graph.has(viewers, author) & self.graph.has(author, viewers)).astype(float)
        follow = self.graph.has(viewers, author).astype(float) * (1 - friend)
        # How much the viewer likes the post's topic: 0 (never), ~0.15 (a random topic), up to 1.5.
        match = np.minimum(self.taste[viewers, self.post_topic[posts]] * len(topics.LABELS) / 6.0, 1.5)
        q = self.post_quality[posts].astype(np.float64)
        cameo_owner = self.post_cameo_owner[posts]
        cameo_friend = ((cameo_owner >= 0) & (cameo_owner != viewers)).astype(float)
        cameo_friend *= self.graph.has(viewers, np.maximum(cameo_owner, 0)) & self.graph.has(
            np.maximum(cameo_owner, 0), viewers
        )
        return {
            "appeal": self.post_appeal[posts].astype(np.float64),
            "quality": q,
            "match": match,
            "friend": friend,
            "follow": follow,
            "cameo_me": (cameo_owner == viewers).astype(float),
            "cameo_friend": cameo_friend,
            "propensity": self.create_prop[viewers],
            "remixable": self.remixable(viewers, posts, friend),
            "early": (self.post_seq[posts] <= 3).astype(float),
            "fresh": np.exp(-np.maximum(self.now - self.post_time[posts], 0) / DAY),
            "hold": -0.4 + 1.3 * q + 1.2 * match + 0.4 * friend,
        }

    def respond(self, viewers: np.ndarray, posts: np.ndarray) -> dict[str, np.ndarray]:
        """True probabilities of what `viewers[i]` does with `posts[i]` (vectorised). Creation
        and remixing follow `self.world` (worlds.py); watching, liking and hiding are shared."""
        f = self.factors(viewers, posts)
        friend, follow, match, q = f["friend"], f["follow"], f["match"], f["quality"]
        early_friend = friend * f["early"]
        completion = _sigmoid(f["hold"])
        like = _sigmoid(
            -3.4 + 0.8 * q + 1.2 * match + 1.6 * friend + 0.5 * follow + 1.2 * f["cameo_me"] + 1.0 * early_friend
        )
        create, remix = self.world.probabilities(f)
        stranger = 1 - np.maximum(friend, follow)
        hide = _sigmoid(-3.6 - 1.6 * match - 2.0 * friend - 0.4 * q + 0.5 * stranger)
        return {
            "completion": completion,
            "like": like,
            "remix": remix,
            "create": create,
            "hide": hide,
            "friend": friend,
            "follow": follow,
            "remixable": f["remixable"],
        }

    def remixable(self, viewers: np.ndarray, posts: np.ndarray, friend: np.ndarray | None = None) -> np.ndarray:
        perm = self.post_remix_perm[posts]
        if friend is None:
            author = self.post_author[posts]
            friend = (self.graph.has(viewers, author) & self.graph.has(author, viewers)).astype(float)
        return ((perm == REMIX_ANYONE) | ((perm == REMIX_FRIENDS) & (friend > 0))).astype(float)

    def visible(self, viewers: np.ndarray, posts: np.ndarray) -> np.ndarray:
        """The production visibility rule, restated over the arrays (no blocks here)."""
        viewers = np.asarray(viewers, dtype=np.int64)
        posts = np.asarray(posts, dtype=np.int64)
        author = self.post_author[posts]
        vis = self.post_visibility[posts]
        follows = self.graph.has(viewers, author)
        mutual = follows & self.graph.has(author, viewers)
        own = author == viewers
        return own | (vis == VIS_PUBLIC) | ((vis == VIS_FOLLOWERS) & follows) | ((vis == VIS_FRIENDS) & mutual)

    def posts_of(self, u: int) -> np.ndarray:
        return self.author_posts[self.author_ptr[u] : self.author_ptr[u + 1]]


def make_population(
    n_users: int,
    n_posts: int,
    *,
    seed: int = 1,
    days: float = 30.0,
    now: float = 1_800_000_000.0,
    heavy_follower_share: float = 0.003,
    progress=None,
) -> Population:
    rng = np.random.default_rng(seed)
    say = progress or (lambda _msg: None)
    n_topics = len(topics.LABELS)

    # Friend clusters with shared tastes.
    sizes = np.minimum(3 + rng.geometric(1 / 10, size=n_users), 60)
    bounds = np.cumsum(sizes)
    bounds = bounds[bounds < n_users]
    cluster = np.zeros(n_users, dtype=np.int32)
    cluster[bounds] = 1
    cluster = np.cumsum(cluster).astype(np.int32)
    n_clusters = int(cluster.max()) + 1
    topic_pop = 1.0 / np.arange(1, n_topics + 1) ** 0.6
    topic_pop /= topic_pop.sum()
    cluster_topics = rng.choice(n_topics, size=(n_clusters, 2), p=topic_pop)
    taste = rng.dirichlet(np.full(n_topics, 0.15), size=n_users).astype(np.float32) * 0.4
    taste[np.arange(n_users), cluster_topics[cluster, 0]] += 0.35
    taste[np.arange(n_users), cluster_topics[cluster, 1]] += 0.25
    taste /= taste.sum(axis=1, keepdims=True)

    fame = rng.pareto(1.1, size=n_users) + 1.0
    create_prop = rng.beta(0.6, 9.0, size=n_users)
    is_minor = rng.random(n_users) < 0.08
    has_cameo = rng.random(n_users) < 0.25
    say("users")

    # Follows: mutual friendships inside clusters, fame-weighted one-way follows, a few
    # accounts following thousands.
    src_parts, dst_parts = [], []
    starts = np.concatenate([[0], np.flatnonzero(np.diff(cluster)) + 1, [n_users]])
    for a, b in itertools.pairwise(starts):
        s = b - a
        if s < 2:
            continue
        i, j = np.triu_indices(s, k=1)
        keep = rng.random(len(i)) < min(1.0, 6.0 / (s - 1))
        i, j = i[keep] + a, j[keep] + a
        src_parts += [i, j]
        dst_parts += [j, i]
    k = np.minimum(rng.lognormal(mean=np.log(15), sigma=1.0, size=n_users).astype(np.int64), 1500)
    heavy = rng.random(n_users) < heavy_follower_share
    k[heavy] = rng.integers(2000, 5000, size=int(heavy.sum()))
    k = np.minimum(k, n_users - 1)
    p_fame = fame / fame.sum()
    follower = np.repeat(np.arange(n_users, dtype=np.int32), k)
    target = rng.choice(n_users, size=len(follower), p=p_fame).astype(np.int32)
    heavy_rows = heavy[follower]
    target[heavy_rows] = np.where(
        rng.random(int(heavy_rows.sum())) < 0.5, target[heavy_rows], rng.integers(0, n_users, int(heavy_rows.sum()))
    )
    src_parts.append(follower)
    dst_parts.append(target)
    graph = Graph.build(n_users, np.concatenate(src_parts), np.concatenate(dst_parts))
    say(f"follow graph: {len(graph.codes):,} edges")

    # Posts: a power law of posting (about half the users never post).
    weight = create_prop * (rng.pareto(1.5, size=n_users) + 0.05) * (1 + np.log(fame))
    weight[rng.random(n_users) < 0.45] = 0.0
    counts = rng.multinomial(n_posts, weight / weight.sum())
    post_author = np.repeat(np.arange(n_users, dtype=np.int32), counts)
    # Recent days are busier (the app is growing): times ~ now - days * u^1.3.
    post_time = now - days * DAY * rng.random(n_posts) ** 1.3
    order = np.argsort(post_time, kind="stable")
    post_time = post_time[order]
    post_author = post_author[order]
    topic_cdf = np.cumsum(taste, axis=1)
    post_topic = (topic_cdf[post_author] < rng.random(n_posts)[:, None]).sum(axis=1).astype(np.int16)
    post_topic = np.minimum(post_topic, n_topics - 1)
    fame_z = (np.log(fame) - np.log(fame).mean()) / np.log(fame).std()
    post_quality = (0.6 * fame_z[post_author] + 0.8 * rng.standard_normal(n_posts)).astype(np.float32)
    post_appeal = rng.standard_normal(n_posts).astype(np.float32)
    post_visibility = rng.choice(4, size=n_posts, p=[0.85, 0.08, 0.05, 0.02]).astype(np.int8)
    post_remix_perm = rng.choice(3, size=n_posts, p=[0.75, 0.15, 0.10]).astype(np.int8)
    say("posts")

    # Lineage: a fifth of the posts remix an earlier public, remixable post of the same topic,
    # preferring recent ones with appeal.
    post_remix_of = np.full(n_posts, -1, dtype=np.int32)
    post_root = np.arange(n_posts, dtype=np.int32)
    post_depth = np.zeros(n_posts, dtype=np.int32)
    open_ = (post_visibility == VIS_PUBLIC) & (post_remix_perm == REMIX_ANYONE)
    by_topic = [np.flatnonzero((post_topic == t) & open_) for t in range(n_topics)]
    remix_rows = np.flatnonzero(rng.random(n_posts) < 0.2)
    back = rng.geometric(1 / 200, size=len(remix_rows))
    for row, step in zip(remix_rows.tolist(), back.tolist(), strict=True):
        pool = by_topic[post_topic[row]]
        hi = np.searchsorted(pool, row)  # earlier posts only
        if hi == 0:
            continue
        parent = int(pool[max(0, hi - step)])
        if post_appeal[parent] < -1.0:
            parent = int(pool[hi - 1])
        post_remix_of[row] = parent
        post_root[row] = post_root[parent]
        post_depth[row] = post_depth[parent] + 1
    remix_count = np.bincount(post_remix_of[post_remix_of >= 0], minlength=n_posts).astype(np.int32)
    descendant_count = np.zeros(n_posts, dtype=np.int64)
    for row in np.flatnonzero(post_remix_of >= 0)[::-1].tolist():
        descendant_count[post_remix_of[row]] += descendant_count[row] + 1
    say(f"lineage: {int((post_remix_of >= 0).sum()):,} remixes")

    # Cameos: a tenth of the posts feature the author's own cameo or a friend's.
    post_cameo_owner = np.full(n_posts, -1, dtype=np.int32)
    featured = np.flatnonzero(rng.random(n_posts) < 0.10)
    for row in featured.tolist():
        author = int(post_author[row])
        friends = graph.friends(author)
        friends = friends[has_cameo[friends]]
        if len(friends) and rng.random() < 0.5:
            post_cameo_owner[row] = int(friends[rng.integers(len(friends))])
        elif has_cameo[author]:
            post_cameo_owner[row] = author

    order_by_author = np.lexsort((np.arange(n_posts), post_author))
    author_ptr = np.searchsorted(post_author[order_by_author], np.arange(n_users + 1)).astype(np.int64)
    post_seq = np.empty(n_posts, dtype=np.int32)
    post_seq[order_by_author] = np.arange(n_posts) - np.repeat(author_ptr[:-1], np.diff(author_ptr)) + 1

    dim = topics.topic_vectors().shape[1]
    noise_rng = np.random.default_rng(seed + 1000)
    return Population(
        n_users=n_users,
        n_posts=n_posts,
        now=now,
        days=days,
        cluster=cluster,
        taste=taste,
        fame=fame,
        create_prop=create_prop,
        is_minor=is_minor,
        has_cameo=has_cameo,
        graph=graph,
        post_author=post_author,
        post_time=post_time,
        post_topic=post_topic,
        post_quality=post_quality,
        post_appeal=post_appeal,
        post_remix_of=post_remix_of,
        post_root=post_root,
        post_depth=post_depth,
        post_visibility=post_visibility,
        post_remix_perm=post_remix_perm,
        post_cameo_owner=post_cameo_owner,
        post_seq=post_seq,
        descendant_count=descendant_count,
        remix_count=remix_count,
        author_ptr=author_ptr,
        author_posts=order_by_author.astype(np.int32),
        noise_a=noise_rng.standard_normal((4096, dim)).astype(np.float32),
        noise_b=noise_rng.standard_normal((4093, dim)).astype(np.float32),
    )
