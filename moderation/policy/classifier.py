"""Layer 2 of the prompt pipeline: a text classifier trained on the project's own dataset.

Plain module, no Django. Two models over the same classes ("benign" plus the content
categories), their probabilities averaged with the bundle's weights:
- a logistic regression on TF-IDF word 1-2-grams + character 2-5-grams (within words) of the
  normalised prompt: catches the wording and its misspellings;
- a logistic regression (or, trained with `--embedding-head mlp`, a small MLP) on the prompt's
  sentence embedding (all-MiniLM-L6-v2, bundled, see sora_social.common.embeddings): carries the
  meaning over to paraphrases the training set never had.
The harm score is 1 - P(benign); the reason names the most likely category.

Training is offline tooling (`tools.moderation.training`, `python manage.py
train_prompt_classifier`); it writes models/prompt_classifier.joblib, which holds only
scikit-learn objects and numbers. `check_classifier()` loads that file once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation.policy import semantic
from moderation.policy.result import PolicyResult

LAYER = "classifier"
MODEL_PATH = Path(__file__).resolve().parent / "models" / "prompt_classifier.joblib"
BENIGN = "benign"


def prepare(text: str) -> str:
    """What the TF-IDF half sees: normalised text with @handles replaced by one placeholder
    token, so that who is featured is not evidence either way."""
    return semantic.prepare(text, "mentionedcameo")


def embed(texts: Sequence[str]) -> np.ndarray:
    if len(texts) == 1:
        return semantic.embed_prompt(texts[0])[None, :]
    return semantic.embed_many(texts)


def predict_proba(
    bundle: dict[str, Any], texts: Sequence[str], *, vectors: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """Class probabilities of both halves, averaged with the bundle's weight, and the class names."""
    classes = list(bundle["classes"])
    tfidf = bundle["tfidf"].predict_proba([prepare(t) for t in texts])
    vectors = embed(texts) if vectors is None else vectors
    semantic = bundle["embedding"].predict_proba(vectors)
    weight = float(bundle.get("embedding_weight", 0.5))  # files written before the weight existed: a plain average
    return (1.0 - weight) * tfidf + weight * semantic, classes


def harm_scores(
    bundle: dict[str, Any], texts: Sequence[str], *, vectors: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(harm score per text, probability matrix) for raw prompts."""
    probs, classes = predict_proba(bundle, texts, vectors=vectors)
    return 1.0 - probs[:, classes.index(BENIGN)], probs


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
    scores, probs = harm_scores(bundle, [prompt])
    return decide(LAYER, "classifier", "classifier", float(scores[0]), probs[0], bundle, strict=strict)


def decide(
    layer: str, code: str, what: str, harm: float, probs: np.ndarray, bundle: dict[str, Any], *, strict: bool
) -> PolicyResult:
    """A harm score against a bundle's review and block thresholds (shared with the multilingual layer)."""
    thresholds = bundle["thresholds"]
    ranked = sorted(((float(p), c) for p, c in zip(probs, bundle["classes"], strict=True) if c != BENIGN), reverse=True)
    top_p, top_category = ranked[0]
    result_scores = {"harm": harm, f"p_{top_category}": top_p}
    if harm >= thresholds["block"] or (strict and harm >= thresholds["review"]):
        decision = "block"
    elif harm >= thresholds["review"]:
        decision = "review"
    else:
        return PolicyResult.allow(layer, scores=result_scores)
    reason = (
        f"{top_category}: {what} harm score {harm:.2f} "
        f"(review from {thresholds['review']:.2f}, block from {thresholds['block']:.2f})"
    )
    return PolicyResult(decision, layer, code, top_category, (reason,), result_scores)
