"""Which language a prompt is in, so that prompts not in English get a model that reads them.

Plain module, no Django. py3langid (langid.py's model, shipped inside the wheel; nothing is
downloaded) scores 97 languages on character n-grams. Short Latin-script prompts are easy to
mistake ("a man" scores highest as Malagasy, "a couple" as French), so a prompt counts as not
English when most of its letters are in another script (Cyrillic, Han, Arabic, ...), or when
langid's normalised probability for a language other than English is at least MIN_CONFIDENCE.
MIN_CONFIDENCE was chosen on the development rows (the people set's dev split, all English, and
the multilingual set's dev split), see docs/moderation.md.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

ENGLISH = "en"
MIN_CONFIDENCE = 0.7
# langid names some Chinese text by its variety; the policy treats them as Chinese.
_ALIASES = {"wuu": "zh", "yue": "zh", "zh-hans": "zh", "zh-hant": "zh"}
_MENTION = re.compile(r"@[\w.]+")

_lock = threading.Lock()
_identifier = None


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 where langid has one ("en", "fr", "zh", ...)
    confidence: float  # langid's normalised probability of `code`
    non_latin_share: float  # share of the letters that are not Latin script

    @property
    def english(self) -> bool:
        return self.code == ENGLISH


def _langid():
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def _non_latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return 1.0 - latin / len(letters)


def detect(prompt: str, *, min_confidence: float = MIN_CONFIDENCE) -> Language:
    """The prompt's language, or English when the evidence for another one is weak."""
    text = _MENTION.sub(" ", prompt).strip()
    share = _non_latin_share(text)
    if not text:
        return Language(ENGLISH, 0.0, 0.0)
    code, probability = _langid().classify(text)
    code = _ALIASES.get(code, code)
    if share >= 0.5 or (code != ENGLISH and probability >= min_confidence):
        return Language(code, float(probability), share)
    return Language(ENGLISH, float(probability) if code == ENGLISH else 1.0 - float(probability), share)
