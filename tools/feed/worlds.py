"""Behaviour models ("worlds") that disagree about what makes a viewer create. No Django.

Every world shares the population, the graph, the posts and how people watch, like and hide
(synthetic.Population.respond). They differ only in what drives the two outcomes the feed is
built for, creating a post after viewing and remixing the viewed post: each is a logistic
function of the factors below, with coefficients that are the world's hypothesis, and an
intercept calibrated so that the average rates over a reference set of impressions are the
same in every world (`calibrate`). A ranker that wins only in the world its designers
believed in has learned that belief, not the product.

Factors of a (viewer, post) pair, all computed by `Population.factors`:
  appeal        the post invites remixing (a template, a trend), standard normal
  quality       polish: what holds attention, ~standard normal
  match         how much the viewer likes the post's topic, 0 … 1.5
  friend        the author is a mutual follow
  follow        one-way follow
  cameo_me      the post features the viewer's cameo
  cameo_friend  ... or a friend's cameo
  propensity    how much this viewer creates at all (beta(0.6, 9), mean 0.06)
  remixable     the viewer may remix it
  early         one of the author's first three posts
  fresh         exp(−age / 24 h)
  hold          the logit of watching to the end (quality, match, friendship)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class World:
    name: str
    summary: str
    create: dict[str, float]  # coefficients of the create-after-viewing logit (no intercept)
    remix: dict[str, float]  # coefficients of the remix logit (times remixable)
    intercepts: dict[str, float] = field(default_factory=lambda: {"create": -6.0, "remix": -6.6})

    def logit(self, head: str, f: dict[str, np.ndarray]) -> np.ndarray:
        z = np.full(len(f["appeal"]), self.intercepts[head], dtype=np.float64)
        for name, coef in getattr(self, head).items():
            z = z + coef * f[name]
        return z

    def probabilities(self, f: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(p(create), p(remix)) for the pairs whose factors are `f`."""
        return _sigmoid(self.logit("create", f)), f["remixable"] * _sigmoid(self.logit("remix", f))

    def calibrated(self, f: dict[str, np.ndarray], target: dict[str, float]) -> World:
        """This world with intercepts moved so the mean p(create) and p(remix) over the pairs
        `f` equal `target` (bisection; the mean is monotone in the intercept)."""
        intercepts = {}
        for head in ("create", "remix"):
            lo, hi = -20.0, 5.0
            for _ in range(50):
                mid = (lo + hi) / 2
                trial = World(self.name, self.summary, self.create, self.remix, {**self.intercepts, head: mid})
                mean = trial.probabilities(f)[0 if head == "create" else 1].mean()
                lo, hi = (mid, hi) if mean < target[head] else (lo, mid)
            intercepts[head] = (lo + hi) / 2
        return World(self.name, self.summary, self.create, self.remix, intercepts)


SOCIAL = World(
    "social",
    "the shipped hypothesis: friends, your own and friends' cameos and topic taste make people create",
    create={"appeal": 0.8, "match": 0.9, "friend": 1.0, "propensity": 9.0, "remixable": 0.5, "cameo_friend": 0.8},
    remix={
        "appeal": 1.2,
        "match": 1.1,
        "friend": 1.2,
        "quality": 0.2,
        "propensity": 10.0,
        "cameo_me": 1.5,
        "cameo_friend": 0.8,
    },
)
CRAFT = World(
    "craft",
    "the post itself: polished, remix-inviting posts make people create, whoever made them; "
    "friendship, cameos and taste do nothing for creation",
    create={"appeal": 1.3, "quality": 0.8, "propensity": 9.0, "remixable": 0.5},
    remix={"appeal": 1.8, "quality": 0.6, "propensity": 10.0},
)
ATTENTION = World(
    "attention",
    "people create after watching something to the end: whatever holds attention (polish, taste, "
    "friends) drives creation in proportion; the watch-time ranker's bet",
    create={"hold": 0.8, "propensity": 9.0},
    remix={"hold": 0.8, "appeal": 0.5, "propensity": 10.0},
)
NOVELTY = World(
    "novelty",
    "the unfamiliar sparks creation: fresh posts, new creators' first posts and topics outside "
    "the viewer's taste; friends' posts are familiar and spark less",
    create={"fresh": 1.2, "early": 1.0, "match": -0.8, "friend": -0.4, "appeal": 0.4, "propensity": 9.0},
    remix={"fresh": 1.0, "early": 0.8, "match": -0.6, "appeal": 0.8, "propensity": 10.0},
)
WORLDS: dict[str, World] = {w.name: w for w in (SOCIAL, CRAFT, ATTENTION, NOVELTY)}
