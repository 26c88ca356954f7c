"""Text normalisation that undoes the usual tricks for slipping words past a filter.

Plain module, no Django. `normalize()` is what the classifier sees; `variants()` gives the few
spellings the rules and the likeness guard match against, so "n.u.d.e", "nuuude", "nud3",
"ｎｕｄｅ" and "nudе" (a Cyrillic е) all read as "nude".
"""

from __future__ import annotations

import re
import unicodedata

# Letters from other scripts that look like Latin ones (Cyrillic, Greek, a few IPA/latin-ext).
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "з": "3",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "һ": "h",
        "ӏ": "l",
        "ԛ": "q",
        "ԝ": "w",
        "ь": "b",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "γ": "y",
        # Capitals, for callers that keep case (the likeness guard's capitalised names)
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "У": "Y",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        # Latin look-alikes and IPA
        "ı": "i",
        "ɡ": "g",
        "ɑ": "a",
        "ɩ": "i",
        "ʀ": "r",
        "ʏ": "y",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
    }
)

# Zero-width and other invisible characters people put inside words.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"
)

# Leetspeak, applied only inside tokens that also contain letters: "k1ll" -> "kill", "2 cats" stays.
_LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "g",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "+": "t",
    "€": "e",
    "£": "l",
}
_LEET_CHARS = re.escape("".join(_LEET))
_TOKEN_WITH_LEET = re.compile(rf"(?<![\w@])[a-z0-9$!|+€£][a-z{_LEET_CHARS}]*")
# Numbers with units are not leet: "3d", "4k", "1080p", "60fps", "90s", "12yo" stay as written.
_NUMERIC_TOKEN = re.compile(r"\d+(?:k|d|p|fps|mm|cm|m|s|th|st|nd|rd|am|pm|x|hz|kg|km|mph|yo|yr|yrs|h|min)?")
# Runs of single letters split by spaces or punctuation: "n u d e", "n.u.d.e", "k-i-l-l".
_SPACED_LETTERS = re.compile(r"(?<![a-z0-9])[a-z](?:[\s.\-_*,/\\|~·•]+[a-z]){2,}(?![a-z0-9])")
_SEPARATORS = re.compile(r"[\s.\-_*,/\\|~·•]+")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Unicode compatibility forms, case, invisible characters, diacritics and homoglyphs."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).casefold()
    text = text.translate(_HOMOGLYPHS)
    # Strip combining marks: "nüde" and zalgo text both fold to plain letters.
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text.replace("’", "'").replace("‘", "'").replace("`", "'")


def fold_keep_case(text: str) -> str:
    """Like fold() but keeping capitals: for matching names that count only when capitalised."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(_HOMOGLYPHS)
    return unicodedata.normalize("NFC", text)


def _unleet_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if not any(ch.isalpha() for ch in token) or _NUMERIC_TOKEN.fullmatch(token):
        return token
    if not any(ch in _LEET for ch in token):
        return token
    # A trailing "!" or "$" after a normal word is punctuation or plural, not leet.
    core = token.rstrip("!")
    tail = token[len(core) :]
    return "".join(_LEET.get(ch, ch) for ch in core) + tail


def unleet(text: str) -> str:
    return _TOKEN_WITH_LEET.sub(_unleet_token, text)


def join_spaced_letters(text: str) -> str:
    return _SPACED_LETTERS.sub(lambda m: _SEPARATORS.sub("", m.group(0)), text)


def _deobfuscate(text: str) -> str:
    return join_spaced_letters(unleet(fold(text)))


def normalize(text: str) -> str:
    """The canonical form the classifier sees: folded, de-leeted, spaced letters joined,
    runs of three or more of a letter cut to two, whitespace collapsed."""
    text = _RUN3.sub(r"\1\1", _deobfuscate(text))
    return _SPACE.sub(" ", text).strip()


def variants(text: str) -> tuple[str, ...]:
    """The spellings the lexicon layers match against (deduplicated, canonical form first).

    Besides `normalize()`: the same with runs of three or more of a letter cut to one instead of
    two ("nuuude" -> "nude"; normal double letters are left alone, so "suicide doors" keeps the
    spelling its exception is written in), and the folded text without de-leeting, so that a
    legitimate digit ("3d", "2 girls") is still seen as written.
    """
    deobfuscated = _deobfuscate(text)
    canonical = _SPACE.sub(" ", _RUN3.sub(r"\1\1", deobfuscated)).strip()
    squeezed = _SPACE.sub(" ", _RUN3.sub(r"\1", deobfuscated)).strip()
    plain = _SPACE.sub(" ", join_spaced_letters(fold(text))).strip()
    out: list[str] = []
    for candidate in (canonical, squeezed, plain):
        if candidate not in out:
            out.append(candidate)
    return tuple(out)
