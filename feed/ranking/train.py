"""Training the ranker: a small multi-task network on (features, outcomes). No Django.

One shared hidden layer (ReLU) feeds four logistic heads — p(remix), p(create after viewing),
p(like), p(hide or report) — and one regression head for log(1 + seconds watched), trained
jointly (binary cross-entropy on each head, squared error on the watch head over the rows
with a view). Inputs are standardised with the training set's mean and std, which travel
with the weights. torch trains; numpy runs it (`model.MLPModel`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from feed.ranking.features import FEATURES
from feed.ranking.model import PROB_HEADS, MLPModel


@dataclass
class TrainingSet:
    x: np.ndarray  # (n, len(FEATURES)) float32
    y: np.ndarray  # (n, 4) float32 in the order of PROB_HEADS
    watch_s: np.ndarray  # (n,) seconds watched (0 without a view)
    viewed: np.ndarray  # (n,) bool

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


def train_mlp(
    data: TrainingSet,
    *,
    hidden: int = 32,
    epochs: int = 8,
    batch_size: int = 1024,
    lr: float = 3e-3,
    holdout: float = 0.1,
    seed: int = 0,
    say: Callable[[str], None] = lambda _m: None,
) -> tuple[MLPModel, dict]:
    import torch
    from torch import nn

    if len(data) < 200:
        raise ValueError(f"only {len(data)} training rows; the cold-start heuristic stays in use")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    cut = int(len(data) * (1 - holdout))
    tr, te = order[:cut], order[cut:]
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
    holdout_set = TrainingSet(data.x[te], data.y[te], data.watch_s[te], data.viewed[te])
    metrics = evaluate(model, holdout_set)
    model.meta.update(
        {"holdout_metrics": metrics, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "kind": "mlp"}
    )
    return model, metrics
