"""Training the ranker: a small multi-task network on (features, outcomes). No Django.

One shared hidden layer (ReLU) feeds four logistic heads — p(remix), p(create after viewing),
p(like), p(hide or report) — and one regression head for log(1 + seconds watched), trained
jointly (binary cross-entropy on each head, squared error on the watch head over the rows
with a view). Inputs are standardised with the training set's mean and std, which travel
with the weights. torch trains; numpy runs it (`model.MLPModel`).

The holdout is a split in time: the heads learn from the earlier 90 % of impressions and are
graded on the latest 10 % (a random split would let a post's or a viewer's later behaviour leak
into training). The same later rows fit the value weights (value.py): how much each predicted
term is worth to the objective, measured on impressions the heads never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from feed.ranking.features import FEATURES, INDEX
from feed.ranking.model import PROB_HEADS, MLPModel
from feed.ranking.value import (
    DEFAULT_FIRST_POST_HOURS,
    TERMS,
    fit_value_weights,
    objective_of,
    realised_terms,
    value_terms,
)


@dataclass
class TrainingSet:
    x: np.ndarray  # (n, len(FEATURES)) float32
    y: np.ndarray  # (n, 4) float32 in the order of PROB_HEADS
    watch_s: np.ndarray  # (n,) seconds watched (0 without a view)
    viewed: np.ndarray  # (n,) bool
    t: np.ndarray  # (n,) when the impression was shown (epoch seconds): the holdout is the latest rows
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-row columns a reader adds (ids, ...)

    def rows(self, idx: np.ndarray) -> TrainingSet:
        extra = {k: v[idx] for k, v in self.extra.items()}
        return TrainingSet(self.x[idx], self.y[idx], self.watch_s[idx], self.viewed[idx], self.t[idx], extra)

    def __len__(self) -> int:
        return len(self.x)


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if y.min() == y.max():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def evaluate(model: MLPModel, data: TrainingSet) -> dict[str, float | None]:
    pred = model.predict(data.x)
    out: dict[str, float | None] = {}
    for j, head in enumerate(PROB_HEADS):
        p = np.clip(getattr(pred, head), 1e-6, 1 - 1e-6)
        y = data.y[:, j]
        out[f"{head}_auc"] = _auc(y, p)
        out[f"{head}_logloss"] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        out[f"{head}_base_rate"] = float(y.mean())
        out[f"{head}_mean_prediction"] = float(p.mean())
    if data.viewed.any():
        err = np.log1p(pred.watch_s[data.viewed]) - np.log1p(data.watch_s[data.viewed])
        out["watch_rmse_log"] = float(np.sqrt(np.mean(err**2)))
    return out


def time_split(t: np.ndarray, holdout: float) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, holdout): the holdout is the latest `holdout` share by time."""
    order = np.argsort(t, kind="stable")
    cut = int(len(t) * (1 - holdout))
    return order[:cut], order[cut:]


def fit_weights(model: MLPModel, data: TrainingSet, objective: dict[str, float]) -> dict[str, float]:
    """Value weights (value.py) fitted on `data`, rows the model did not learn from."""
    x = data.x
    pred = model.predict(x)
    age_hours = -24.0 * np.log(np.clip(x[:, INDEX["freshness"]], 1e-12, 1.0))
    predicted = value_terms(x, pred, age_hours=age_hours)
    early = x[:, INDEX["early_post"]] * (age_hours <= DEFAULT_FIRST_POST_HOURS)
    realised = realised_terms(
        created=data.y[:, 1],
        remixed=data.y[:, 0],
        liked=data.y[:, 2],
        hid=data.y[:, 3],
        friend=x[:, INDEX["friend"]],
        early=early,
    )
    weights = fit_value_weights(predicted, realised, objective)
    return {t: round(float(w), 6) for t, w in zip(TERMS, weights.tolist(), strict=True)}


def train_mlp(
    data: TrainingSet,
    *,
    hidden: int = 32,
    epochs: int = 8,
    batch_size: int = 1024,
    lr: float = 3e-3,
    holdout: float = 0.1,
    seed: int = 0,
    objective: dict[str, float] | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> tuple[MLPModel, dict]:
    """Train on the earlier rows, grade on the latest (`holdout` share), fit the value weights
    for `objective` (default: value.DEFAULT_OBJECTIVE) on those latest rows."""
    import torch
    from torch import nn

    if len(data) < 200:
        raise ValueError(f"only {len(data)} training rows; the cold-start heuristic stays in use")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tr, te = time_split(data.t, holdout)
    mean = data.x[tr].mean(axis=0)
    std = data.x[tr].std(axis=0)
    std[std < 1e-6] = 1.0

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(data.x.shape[1], hidden)
            self.probs = nn.Linear(hidden, len(PROB_HEADS))
            self.watch = nn.Linear(hidden, 1)

        def forward(self, x):
            h = torch.relu(self.hidden(x))
            return self.probs(h), self.watch(h).squeeze(-1)

    net = Net()
    # Start each head at its base rate, so early epochs do not waste time learning the bias.
    with torch.no_grad():
        rates = np.clip(data.y[tr].mean(axis=0), 1e-4, 1 - 1e-4)
        net.probs.bias.copy_(torch.tensor(np.log(rates / (1 - rates)), dtype=torch.float32))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
    x = torch.tensor((data.x - mean) / std, dtype=torch.float32)
    y = torch.tensor(data.y, dtype=torch.float32)
    w = torch.tensor(np.log1p(data.watch_s), dtype=torch.float32)
    v = torch.tensor(data.viewed, dtype=torch.float32)
    bce = nn.BCEWithLogitsLoss()
    for epoch in range(epochs):
        perm = torch.tensor(rng.permutation(tr))
        total = 0.0
        for start in range(0, len(perm), batch_size):
            idx = perm[start : start + batch_size]
            logits, watch = net(x[idx])
            loss = bce(logits, y[idx]) + 0.1 * ((watch - w[idx]) ** 2 * v[idx]).sum() / v[idx].sum().clamp(min=1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        say(f"epoch {epoch + 1}/{epochs}: loss {total / len(tr):.4f}")
    weights = {
        "mean": mean,
        "std": std,
        "w1": net.hidden.weight.detach().numpy().T.copy(),
        "b1": net.hidden.bias.detach().numpy().copy(),
        "w2": net.probs.weight.detach().numpy().T.copy(),
        "b2": net.probs.bias.detach().numpy().copy(),
        "w3": net.watch.weight.detach().numpy().T.copy(),
        "b3": net.watch.bias.detach().numpy().copy(),
    }
    meta = {"features": FEATURES, "hidden": hidden, "epochs": epochs, "rows": len(data)}
    model = MLPModel(weights, meta)
    holdout_set = data.rows(te)
    metrics = evaluate(model, holdout_set)
    objective = objective_of(objective)
    model.meta.update(
        {
            "holdout_metrics": metrics,
            "holdout": f"the latest {holdout:.0%} of impressions by time",
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": "mlp",
            "objective": objective,
            "value_weights": fit_weights(model, holdout_set, objective),
        }
    )
    return model, metrics
