"""The ranker's models: predicted probabilities of remix, create-after-view, like and
hide/report, and expected watch seconds, for a batch of feature rows. No Django.

Two implementations behind one interface:
- `MLPModel`: a small multi-task network (shared hidden layer, one head per outcome) trained
  on the engagement log by `manage.py train_ranker` (torch), exported to numpy weights and
  run in numpy at request time (no torch import in the web process).
- `HeuristicModel`: the cold-start model, hand-set logistic coefficients on the same features,
  used when no trained model file exists (a clean checkout) or it does not match FEATURES.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from feed.ranking.features import FEATURES, INDEX, N_FEATURES

PROB_HEADS = ("remix", "create", "like", "hide")
MAX_WATCH_S = 120.0


@dataclass
class Predictions:
    remix: np.ndarray
    create: np.ndarray
    like: np.ndarray
    hide: np.ndarray
    watch_s: np.ndarray


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _finish(x: np.ndarray, probs: dict[str, np.ndarray], watch_s: np.ndarray) -> Predictions:
    # A post the viewer may not remix has no chance of a remix, whatever the model says.
    remixable = x[:, INDEX["remixable"]]
    return Predictions(
        remix=(probs["remix"] * remixable).astype(np.float32),
        create=probs["create"].astype(np.float32),
        like=probs["like"].astype(np.float32),
        hide=probs["hide"].astype(np.float32),
        watch_s=np.clip(watch_s, 0, MAX_WATCH_S).astype(np.float32),
    )


# Cold start: logistic coefficients chosen by hand (docs/ranking.md, "Cold start"). Each says
# what a product person would bet on before there is data: friends and your own cameo make you
# act, remix-heavy posts invite remixes, people who create often create again, a post close to
# what you make invites you to make one, high hide rates predict hides.
HEURISTIC: dict[str, tuple[float, dict[str, float]]] = {
    "remix": (
        -4.6,
        {
            "friend": 0.9,
            "follow": 0.3,
            "affinity": 0.3,
            "cameo_me": 1.2,
            "cameo_friend": 0.6,
            "remix_count": 0.25,
            "remix_rate": 25.0,
            "topic_sim": 2.0,
            "create_rate": 12.0,
            "early_post": 0.2,
        },
    ),
    "create": (
        -4.4,
        {
            "friend": 0.6,
            "cameo_me": 0.8,
            "cameo_friend": 0.5,
            "remix_rate": 12.0,
            "topic_sim": 1.8,
            "create_rate": 15.0,
            "remixable": 0.4,
            "freshness": 0.2,
        },
    ),
    "like": (
        -3.0,
        {
            "friend": 1.2,
            "follow": 0.5,
            "affinity": 0.5,
            "cameo_me": 1.0,
            "cameo_friend": 0.5,
            "like_rate": 9.0,
            "completion_rate": 1.0,
            "topic_sim": 1.5,
            "freshness": 0.3,
        },
    ),
    "hide": (
        -4.2,
        {
            "friend": -1.2,
            "follow": -0.6,
            "affinity": -0.4,
            "hide_rate": 40.0,
            "topic_sim": -1.5,
            "author_volume": 0.2,
        },
    ),
}
HEURISTIC_WATCH = (4.0, {"completion_rate": 10.0, "topic_sim": 6.0, "affinity": 1.0, "friend": 1.5})


class HeuristicModel:
    name = "heuristic"
    meta: dict = {"kind": "heuristic"}

    def __init__(self) -> None:
        self._w = np.zeros((N_FEATURES, len(PROB_HEADS)), dtype=np.float32)
        self._b = np.zeros(len(PROB_HEADS), dtype=np.float32)
        for j, head in enumerate(PROB_HEADS):
            intercept, coefs = HEURISTIC[head]
            self._b[j] = intercept
            for feature, value in coefs.items():
                self._w[INDEX[feature], j] = value
        self._ww = np.zeros(N_FEATURES, dtype=np.float32)
        for feature, value in HEURISTIC_WATCH[1].items():
            self._ww[INDEX[feature]] = value
        self._wb = HEURISTIC_WATCH[0]

    def predict(self, x: np.ndarray) -> Predictions:
        p = _sigmoid(x @ self._w + self._b)
        return _finish(x, {h: p[:, j] for j, h in enumerate(PROB_HEADS)}, x @ self._ww + self._wb)


class MLPModel:
    """z = (x - mean) / std; h = relu(z W1 + b1); p = sigmoid(h W2 + b2); watch = expm1(h w3 + b3)."""

    name = "mlp"

    def __init__(self, weights: dict[str, np.ndarray], meta: dict) -> None:
        self.meta = meta
        self.mean = weights["mean"].astype(np.float32)
        self.std = weights["std"].astype(np.float32)
        self.w1 = weights["w1"].astype(np.float32)
        self.b1 = weights["b1"].astype(np.float32)
        self.w2 = weights["w2"].astype(np.float32)
        self.b2 = weights["b2"].astype(np.float32)
        self.w3 = weights["w3"].astype(np.float32)
        self.b3 = weights["b3"].astype(np.float32)

    def predict(self, x: np.ndarray) -> Predictions:
        z = (x - self.mean) / self.std
        h = np.maximum(z @ self.w1 + self.b1, 0)
        p = _sigmoid(h @ self.w2 + self.b2)
        watch = np.expm1(np.clip((h @ self.w3 + self.b3).ravel(), 0, np.log1p(MAX_WATCH_S)))
        return _finish(x, {head: p[:, j] for j, head in enumerate(PROB_HEADS)}, watch)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            mean=self.mean,
            std=self.std,
            w1=self.w1,
            b1=self.b1,
            w2=self.w2,
            b2=self.b2,
            w3=self.w3,
            b3=self.b3,
            meta=json.dumps(self.meta),
        )
        return path


RankerModel = HeuristicModel | MLPModel


def load_model(path: str | Path | None) -> RankerModel:
    """The trained model at `path` if there is a valid one, else the cold-start heuristic."""
    if not path:
        return HeuristicModel()
    path = Path(path)
    if not path.exists():
        return HeuristicModel()
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("features") != FEATURES:
            return HeuristicModel()  # trained on another feature set: retrain
        weights = {k: data[k] for k in data.files if k != "meta"}
    return MLPModel(weights, meta)


@lru_cache(maxsize=4)
def cached_model(path: str, mtime: float) -> RankerModel:
    return load_model(path)


def current_model(path: str | Path | None) -> RankerModel:
    """Load once per process, again when the file changes (a new `train_ranker` run)."""
    if not path or not Path(path).exists():
        return cached_model("", 0.0)
    return cached_model(str(path), Path(path).stat().st_mtime)
