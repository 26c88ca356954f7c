"""Sentence vectors for the policy layers, cached so a prompt is embedded once per check.

Plain module, no Django. The model is the bundled all-MiniLM-L6-v2 behind
`sora_social.common.embeddings` (offline; about 12 s to load, once per process).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from moderation.policy.normalize import normalize

_MENTION = re.compile(r"@[\w.]+")
_SPACES = re.compile(r"\s+")


def prepare(text: str, placeholder: str = "someone") -> str:
    """Normalised text with @handles replaced by a placeholder: who is featured is not content."""
    return _SPACES.sub(" ", _MENTION.sub(f" {placeholder} ", normalize(text))).strip()


def embed_many(texts: Sequence[str]) -> np.ndarray:
    """Vectors for raw prompts (normalised first), shape (n, 384), L2-normalised."""
    from sora_social.common.embeddings import embed_texts

    return embed_texts([prepare(t) for t in texts], batch_size=128)


_CACHE_SIZE = 2048
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def _remember(prepared: str, vector: np.ndarray) -> None:
    vector = np.array(vector, dtype=np.float32)
    vector.setflags(write=False)
    with _cache_lock:
        _cache[prepared] = vector
        _cache.move_to_end(prepared)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)


def embed_prompt(text: str) -> np.ndarray:
    """The vector of one raw prompt, cached: the classifier and the restriction layer share it."""
    prepared = prepare(text)
    with _cache_lock:
        cached = _cache.get(prepared)
    if cached is not None:
        return cached
    from sora_social.common.embeddings import embed_texts

    vector = embed_texts([prepared])[0]
    _remember(prepared, vector)
    return vector


def warm(texts: Sequence[str]) -> None:
    """Embed many prompts in batches ahead of checking them one by one (the eval does this)."""
    prepared = list(dict.fromkeys(prepare(t) for t in texts))
    from sora_social.common.embeddings import embed_texts

    for start in range(0, len(prepared), 512):
        chunk = prepared[start : start + 512]
        for text, vector in zip(chunk, embed_texts(chunk, batch_size=128), strict=True):
            _remember(text, vector)


@lru_cache(maxsize=256)
def embed_phrases(phrases: tuple[str, ...]) -> np.ndarray:
    """Vectors of fixed phrases (theme exemplars), cached for the life of the process."""
    from sora_social.common.embeddings import embed_texts

    vectors = embed_texts(list(phrases))
    vectors.setflags(write=False)
    return vectors
