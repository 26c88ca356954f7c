"""Layer 2 of the prompt pipeline: a text classifier trained on the project's own dataset.

Plain module, no Django. Two logistic regressions over the same classes ("benign" plus the
content categories), averaged:
- TF-IDF word 1-2-grams + character 2-5-grams (within words) of the normalised prompt: catches
  the wording and its misspellings;
- the prompt's sentence embedding (all-MiniLM-L6-v2, bundled, see sora_social.common.embeddings):
  carries the meaning over to paraphrases the training set never had.
The harm score is 1 - P(benign); the reason names the most likely category.

`train()` fits both on the "train" split of data/prompts.csv, picks the review and block
thresholds on the "validation" split and returns the bundle that
`python manage.py train_prompt_classifier` writes to models/prompt_classifier.joblib.
`check_classifier()` loads that file once per process.
"""

from __future__ import annotations

import csv
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from moderation.policy import semantic
from moderation.policy.result import PolicyResult

LAYER = "classifier"
DATA_PATH = Path(__file__).resolve().parent / "data" / "prompts.csv"
MODEL_PATH = Path(__file__).resolve().parent / "models" / "prompt_classifier.joblib"
BENIGN = "benign"

# How thresholds are chosen on the validation split (documented in docs/moderation.md).
BLOCK_MIN_PRECISION = 0.98  # block at the lowest score whose precision is at least this
REVIEW_MAX_BENIGN_FPR = 0.02  # review from the score that flags at most 2% of benign prompts
THRESHOLD_FLOOR = 0.2  # never review below this score, never block below 0.5
BLOCK_FLOOR = 0.5


def prepare(text: str) -> str:
    """What the TF-IDF half sees: normalised text with @handles replaced by one placeholder
    token, so that who is featured is not evidence either way."""
    return semantic.prepare(text, "mentionedcameo")


def embed(texts: Sequence[str]) -> np.ndarray:
    if len(texts) == 1:
        return semantic.embed_prompt(texts[0])[None, :]
    return semantic.embed_many(texts)


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    category: str
    split: str
    variant: str
    cameos: str


def load_rows(path: Path = DATA_PATH) -> list[Row]:
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


def build_embedding_model(seed: int = 0):
    """The sentence-embedding half."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=16.0, max_iter=3000, random_state=seed)


def predict_proba(
    bundle: dict[str, Any], texts: Sequence[str], *, vectors: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """Averaged class probabilities of both halves, and the class names."""
    classes = list(bundle["classes"])
    tfidf = bundle["tfidf"].predict_proba([prepare(t) for t in texts])
    vectors = embed(texts) if vectors is None else vectors
    semantic = bundle["embedding"].predict_proba(vectors)
    return (tfidf + semantic) / 2.0, classes


def harm_scores(
    bundle: dict[str, Any], texts: Sequence[str], *, vectors: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(harm score per text, probability matrix) for raw prompts."""
    probs, classes = predict_proba(bundle, texts, vectors=vectors)
    return 1.0 - probs[:, classes.index(BENIGN)], probs


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
    rows: Sequence[Row] | None = None, *, seed: int = 0, progress: Callable[[str], None] = lambda message: None
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
    semantic = build_embedding_model(seed).fit(vectors, labels)
    if list(semantic.classes_) != list(tfidf.classes_):
        raise RuntimeError("the two halves disagree on the classes")
    semantic.coef_ = semantic.coef_.astype(np.float32)
    progress("embedding model fitted; scoring the validation split ...")

    bundle: dict[str, Any] = {"tfidf": tfidf, "embedding": semantic, "classes": list(tfidf.classes_)}
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
            "dataset_sha256": hashlib.sha256(DATA_PATH.read_bytes()).hexdigest() if DATA_PATH.exists() else "",
            "seed": seed,
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


def save(bundle: dict[str, Any], path: Path = MODEL_PATH) -> int:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(bundle, path, compress=("xz", 6))
    return path.stat().st_size


_lock = threading.Lock()
_loaded: dict[Path, dict[str, Any]] = {}


def load(path: Path = MODEL_PATH) -> dict[str, Any]:
    """The trained bundle, loaded once per process."""
    bundle = _loaded.get(path)
    if bundle is None:
        with _lock:
            bundle = _loaded.get(path)
            if bundle is None:
                import joblib

                if not path.exists():
                    raise FileNotFoundError(
                        f"{path} is missing: run `python manage.py train_prompt_classifier` to create it"
                    )
                bundle = joblib.load(path)
                _loaded[path] = bundle
    return bundle


def check_classifier(prompt: str, *, strict: bool = False, bundle: dict[str, Any] | None = None) -> PolicyResult:
    """Block at or above the block threshold, review at or above the review threshold.

    strict (a minor is generating): what would be reviewed is blocked.
    """
    bundle = bundle or load()
    thresholds = bundle["thresholds"]
    scores, probs = harm_scores(bundle, [prompt])
    harm = float(scores[0])
    ranked = sorted(
        ((float(p), c) for p, c in zip(probs[0], bundle["classes"], strict=True) if c != BENIGN), reverse=True
    )
    top_p, top_category = ranked[0]
    result_scores = {"harm": harm, f"p_{top_category}": top_p}
    if harm >= thresholds["block"] or (strict and harm >= thresholds["review"]):
        decision = "block"
    elif harm >= thresholds["review"]:
        decision = "review"
    else:
        return PolicyResult.allow(LAYER, scores=result_scores)
    reason = (
        f"{top_category}: classifier harm score {harm:.2f} "
        f"(review from {thresholds['review']:.2f}, block from {thresholds['block']:.2f})"
    )
    return PolicyResult(decision, LAYER, "classifier", top_category, (reason,), result_scores)
