"""Steering in words: "more anime, less sports" → terms with a direction → boosts. No Django.

`parse` splits the text into clauses and marker words (more / less / no / stop …); each
term is embedded once (services), blended with its nearest topic's vector when it names a
known topic (a bare word like "sports" embeds weakly on its own), and at ranking time
`steer_similarity` turns each candidate's cosine to the terms into a signed boost in [-1, 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MAX_TEXT = 300
MAX_TERMS = 8
MAX_PHRASE = 60
# A cosine below this is "unrelated" for MiniLM; above it, the boost grows linearly to 1.
THRESHOLD = 0.15
TOPIC_BLEND_MIN = 0.35

_MORE = ["more of", "more", "lots of", "lots", "show me", "i want", "i like", "i love", "extra", "plus", "+"]
_LESS = [
    "no more",
    "less of",
    "less",
    "fewer",
    "stop showing",
    "stop",
    "don't show",
    "dont show",
    "do not show",
    "without",
    "avoid",
    "never",
    "hide",
    "minus",
    "not",
    "no",
    "-",
]
_MARKERS = sorted(((m, "more") for m in _MORE), key=lambda m: -len(m[0])) + sorted(
    ((m, "less") for m in _LESS), key=lambda m: -len(m[0])
)
_MARKER_RE = re.compile(
    "|".join(rf"(?<![\w']){re.escape(m)}(?![\w'])" for m, _ in sorted(_MARKERS, key=lambda m: -len(m[0])))
)
_DIRECTION = dict(_MARKERS)
_CLAUSE_RE = re.compile(r"[,;.!?\n]+|\s+(?:and|but|&|also|then)\s+")
_FILLER = {
    "of",
    "please",
    "pls",
    "videos",
    "video",
    "posts",
    "post",
    "stuff",
    "content",
    "things",
    "the",
    "some",
    "any",
    "me",
    "my",
    "feed",
    "in",
    "a",
    "an",
    "about",
    "with",
    "i",
    "want",
    "see",
    "like",
    "would",
    "id",
    "i'd",
    "really",
    "much",
    "lot",
    "to",
    "actually",
    "also",
    "maybe",
    "just",
    "even",
    "too",
    "ok",
    "okay",
    "thanks",
    "instead",
}


@dataclass(frozen=True)
class Term:
    phrase: str
    direction: str  # "more" or "less"

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "more" else -1.0


def _clean(phrase: str) -> str:
    words = [w for w in re.findall(r"[\w'-]+", phrase.lower()) if w not in _FILLER]
    return " ".join(words).strip(" -'")[:MAX_PHRASE]


def parse(text: str) -> list[Term]:
    """Terms in the order written; a phrase without a marker means "more"; later mentions
    of the same phrase win; at most MAX_TERMS."""
    terms: dict[str, Term] = {}
    for clause in _CLAUSE_RE.split(text.lower()):
        direction = "more"
        position = 0
        pieces: list[tuple[str, str]] = []
        for match in _MARKER_RE.finditer(clause):
            pieces.append((direction, clause[position : match.start()]))
            direction = _DIRECTION[match.group(0)]
            position = match.end()
        pieces.append((direction, clause[position:]))
        for piece_direction, piece in pieces:
            phrase = _clean(piece)
            if phrase:
                terms.pop(phrase, None)
                terms[phrase] = Term(phrase, piece_direction)
    return list(terms.values())[-MAX_TERMS:]


def term_vectors(phrase_vectors: np.ndarray, topic_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, nearest topic index) for embedded phrases: a phrase close to a topic is
    blended with that topic's description, which carries the words posts actually use."""
    if len(phrase_vectors) == 0:
        return np.zeros((0, topic_vectors.shape[1]), dtype=np.float32), np.zeros(0, dtype=np.int64)
    sims = phrase_vectors @ topic_vectors.T
    nearest = np.argmax(sims, axis=1)
    out = phrase_vectors.astype(np.float32).copy()
    for i, t in enumerate(nearest):
        if sims[i, t] >= TOPIC_BLEND_MIN:
            out[i] = out[i] + topic_vectors[t]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out, nearest


def steer_similarity(post_vectors: np.ndarray, vectors: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Signed boost per post in [-1, 1]: Σ sign · max(0, (cos − THRESHOLD) / (1 − THRESHOLD))."""
    if len(vectors) == 0 or len(post_vectors) == 0:
        return np.zeros(len(post_vectors))
    sims = post_vectors @ vectors.T
    active = np.clip((sims - THRESHOLD) / (1.0 - THRESHOLD), 0.0, 1.0)
    return np.clip(active @ signs, -1.0, 1.0)
