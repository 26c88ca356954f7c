"""Layer 3 of the prompt pipeline: the likeness guard.

Plain module, no Django. A real person may appear in a video only through their own cameo.
This layer blocks a prompt that
- names a listed public figure (data/public_figures.csv) unless a featured, verified person
  cameo is that person;
- mentions an @handle that is not one of the featured cameos (`likeness_without_cameo`);
- asks for a real private person's likeness: "deepfake of …", "make it look like my boss",
  "photorealistic video of my neighbour John Smith", "real footage of Jane Doe".

Names are matched on every spelling from `normalize.variants()` (case, punctuation,
possessives, leetspeak, spaced letters, homoglyphs) and also run together ("#TaylorSwift").
Aliases that are ordinary words in lower case ("Drake", "Cher", "Trump") are marked "^" in the
data file and match only when capitalised in the prompt.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from moderation.policy.normalize import fold, fold_keep_case, variants
from moderation.policy.result import PolicyResult
from moderation.policy.subjects import CameoSubject

LAYER = "likeness"
FIGURES_PATH = Path(__file__).resolve().parent / "data" / "public_figures.csv"

# Phrases in which a listed name or alias means something else; removed before matching.
EXCLUDED_PHRASES = (
    "king charles spaniel",
    "cavalier king charles",
    "prince william sound",
    "prince william county",
    "jfk airport",
    "jfk international",
    "mlk day",
    "mlk boulevard",
    "mlk blvd",
    "madonna and child",
    "the madonna",
    "trump card",
    "musk ox",
    "musk deer",
    "king james bible",
    "king james version",
    "the king of pop music history",
)
_EXCLUDED = re.compile("|".join(re.escape(p) for p in EXCLUDED_PHRASES), re.IGNORECASE)

_POSSESSIVE = re.compile(r"(?<=[a-z0-9])'s?(?![a-z0-9])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MIN_JOINED = 6  # "taylorswift"; shorter run-together forms collide with ordinary words


def tokens(text: str) -> tuple[str, ...]:
    """Lower-case word tokens with possessives dropped: "Taylor Swift's" -> ("taylor", "swift")."""
    text = _POSSESSIVE.sub("", text)
    return tuple(t for t in _NON_ALNUM.split(text) if t)


@dataclass(frozen=True)
class Figure:
    name: str
    group: str
    aliases: tuple[tuple[str, ...], ...]  # token tuples, matched in any case
    capitalised: tuple[str, ...]  # aliases that only count when written with capitals


@dataclass(frozen=True)
class _Index:
    figures: tuple[Figure, ...]
    by_tokens: dict[tuple[str, ...], int]
    by_joined: dict[str, int]
    capitalised: tuple[tuple[re.Pattern[str], int], ...]
    max_len: int


def _alias_tokens(alias: str) -> tuple[str, ...]:
    return tokens(fold(alias))


@lru_cache(maxsize=1)
def _index() -> _Index:
    figures: list[Figure] = []
    by_tokens: dict[tuple[str, ...], int] = {}
    by_joined: dict[str, int] = {}
    capitalised: list[tuple[re.Pattern[str], int]] = []
    with FIGURES_PATH.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            raw_aliases = [a.strip() for a in row["aliases"].split("|") if a.strip()]
            caps = tuple(a[1:] for a in raw_aliases if a.startswith("^"))
            plain = [a for a in raw_aliases if not a.startswith("^")]
            # A name that is itself an ordinary word ("Drake") is listed as "^Drake" and not matched lower-case.
            if row["name"].casefold() not in {c.casefold() for c in caps}:
                plain.insert(0, row["name"])
            alias_tokens = tuple(t for t in (_alias_tokens(a) for a in plain) if t)
            position = len(figures)
            figures.append(Figure(row["name"], row["group"], alias_tokens, caps))
            for tok in alias_tokens:
                by_tokens.setdefault(tok, position)
                joined = "".join(tok)
                if len(tok) > 1 and len(joined) >= _MIN_JOINED:
                    by_joined.setdefault(joined, position)
            for alias in caps:
                capitalised.append((re.compile(rf"(?<![A-Za-z0-9]){re.escape(alias)}(?![A-Za-z0-9])"), position))
    max_len = max(len(t) for t in by_tokens)
    return _Index(tuple(figures), by_tokens, by_joined, tuple(capitalised), max_len)


def public_figures() -> tuple[Figure, ...]:
    return _index().figures


def find_public_figures(prompt: str) -> list[Figure]:
    """Listed public figures the prompt names, in order of first appearance.

    Longest match wins and matches do not overlap, so "Michelle Obama" is Michelle Obama and not
    also Barack Obama (whose alias "Obama" is inside it).
    """
    index = _index()
    found: dict[int, int] = {}  # figure position -> first token offset
    for spelling in variants(prompt):
        toks = tokens(_EXCLUDED.sub(" ", spelling))
        start = 0
        while start < len(toks):
            hit, span = None, 1
            for length in range(min(index.max_len, len(toks) - start), 0, -1):
                gram = toks[start : start + length]
                joined = "".join(gram)
                hit = index.by_tokens.get(gram)
                if hit is None and len(joined) >= _MIN_JOINED:
                    hit = index.by_joined.get(joined)
                if hit is not None:
                    span = length
                    break
            if hit is not None and hit not in found:
                found[hit] = start
            start += span
    original = _EXCLUDED.sub(" ", fold_keep_case(prompt))
    for pattern, position in index.capitalised:
        match = pattern.search(original)
        if match and position not in found:
            found[position] = len(tokens(fold(original[: match.start()])))
    return [index.figures[p] for p, _ in sorted(found.items(), key=lambda item: item[1])]


def _names_match(figure: Figure, names: Iterable[str]) -> bool:
    targets = set(figure.aliases) | {_alias_tokens(c) for c in figure.capitalised}
    joined_targets = {"".join(t) for t in targets if len("".join(t)) >= _MIN_JOINED}
    for name in names:
        toks = _alias_tokens(name)
        if toks in targets or "".join(toks) in joined_targets:
            return True
    return False


def consenting_cameo(figure: Figure, cameos: Sequence[CameoSubject]) -> CameoSubject | None:
    """The featured, verified person cameo that is this figure, if any."""
    for cameo in cameos:
        if cameo.kind == "person" and cameo.verified and _names_match(figure, cameo.person_names()):
            return cameo
    return None


# --- @mentions ---------------------------------------------------------------------------------
# Handles are letters, digits, "_" and "."; cameo names may also have "-" (cameos.constants).
_MENTION = re.compile(r"(?<![\w.@])@([a-z0-9_](?:[a-z0-9_.\-]{0,38}[a-z0-9_])?)")


def mentioned_handles(prompt: str) -> list[str]:
    seen: list[str] = []
    for handle in _MENTION.findall(fold(prompt)):
        if handle not in seen:
            seen.append(handle)
    return seen


# A mention may name a cameo whose name has spaces ("@Blue Mug"): up to 3 more words count.
_MENTION_PHRASE = re.compile(r"(?<![\w.@])@([a-z0-9_](?:[a-z0-9_.\-]{0,38}[a-z0-9_])?)((?: [a-z0-9_][\w.\-]*){0,3})")


def mention_phrases(prompt: str) -> list[tuple[str, list[str]]]:
    """Each @mention once, as (handle, the phrases it may stand for, longest first):
    "@blue mug dances" gives ("blue", ["blue mug dances", "blue mug", "blue"]), "@alice-themed"
    ("alice-themed", ["alice-themed", "alice"]). The caller looks
    them up: a mention names a cameo by one of these, or nothing (then it is plain text)."""
    out: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    for handle, rest in _MENTION_PHRASE.findall(fold(prompt)):
        words = [handle, *rest.split()]
        phrases = [" ".join(words[:n]).rstrip(".") for n in range(len(words), 0, -1)]
        if "-" in handle:  # "@alice-themed" still refers to @alice (as in check_likeness)
            phrases.append(handle.split("-")[0])
        key = phrases[0]
        if key not in seen:
            seen.add(key)
            out.append((handle, phrases))
    return out


# --- a private person's likeness ----------------------------------------------------------------
_REL = (
    r"(?:neighbou?rs?|boss(?:es)?|managers?|co-?workers?|colleagues?|teachers?|professors?|classmates?|landlords?|"
    r"landlady|roommates?|flatmates?|ex|ex-?girlfriends?|ex-?boyfriends?|ex-?wife|ex-?husband|ex-?partner|"
    r"girlfriends?|boyfriends?|wife|husband|crush|mom|mum|mother|dad|father|sisters?|brothers?|friends?|"
    r"best friends?|cousins?|aunt|uncle|step-?mom|step-?dad|principal|pastor|doctor|coach|employees?|tenants?|"
    r"partner|bully|enemy|nanny|babysitter|supervisor|ceo|mother-in-law|father-in-law)"
)
# Cues that the video should pass for real footage of someone.
_REALISM = (
    r"(?:photo-? ?realistic|hyper-? ?realistic|realistic|lifelike|real|actual|authentic|leaked|hidden[- ]cam(?:era)?|"
    r"cctv|security[- ]cam(?:era)?|body-?cam|doorbell[- ]cam(?:era)?|nanny[- ]cam|paparazzi|candid|spy[- ]cam(?:era)?|"
    r"surveillance)"
)
_MEDIUM = r"(?:footage|video|videos|clip|clips|recording|photos?|pictures?|depiction|version|rendering|shot|film)"
_DEEPFAKE = re.compile(
    r"(?<![a-z])(?:deep-? ?fakes?|deep-? ?faked|face-? ?swap\w*|voice-? ?clon\w*|"
    r"(?:swap|put|paste|replace) (?:[\w']+ ){0,2}(?:face|faces) (?:on|onto|with|into)|"
    r"(?:fake|faked|fabricated) (?:video|footage|clip|recording) of (?:a real|my|the real|an actual))(?![a-z])"
)
_LIKENESS_REQUEST = re.compile(
    r"(?<![a-z])(?:(?:make|makes|making) (?:it|him|her|them|the \w+|@[\w.]+) (?:look|looks|sound) (?:exactly |"
    r"just )?like|"
    r"looks? (?:exactly|just) like|resembl(?:e|es|ing)|in the likeness of|with the (?:face|likeness) of|"
    r"(?:using|with|wearing) (?:\w+ )?(?:face|likeness) of|look-? ?alike of|impersonat\w*|pretending to be)"
    rf" (?:my |our |a real |an actual |the real )?(?:{_REL}|real (?:person|people|human))(?![a-z])"
)
_REAL_PERSON = re.compile(
    rf"(?<![a-z])(?:{_REALISM} (?:\w+ ){{0,2}}{_MEDIUM}|{_REALISM}) (?:of|featuring|showing|starring) (?:my|our) "
    rf"(?:\w+ )?{_REL}(?![a-z])|"
    r"(?<![a-z])real (?:person|people|human) (?:named|called)(?![a-z])"
)
FIRST_NAMES_PATH = Path(__file__).resolve().parent / "data" / "first_names.txt"
# A capitalised "Firstname Lastname" right after a relation ("my neighbour John Smith") or a
# realism cue ("real footage of Jane Doe"); read from the prompt as written, since the capitals
# are the signal, and only when the first word is a common given name (not "Central Park").
_NAME = r"([A-Z][a-z]+)[ -](?:[A-Z]\.? )?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_NAMED_RELATION = re.compile(rf"\b(?i:my|our) (?i:{_REL}),? ({_NAME})")
_NAMED_REALISM = re.compile(
    rf"\b(?i:{_REALISM} (?:\w+ ){{0,2}}{_MEDIUM} (?:of|featuring|showing|starring)) "
    rf"(?:(?i:a|an|the) (?i:real )?(?:\w+ )?(?i:named|called) )?({_NAME})"
)


@lru_cache(maxsize=1)
def _first_names() -> frozenset[str]:
    lines = FIRST_NAMES_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def _covered_by_cameo(text: str, cameos: Sequence[CameoSubject]) -> bool:
    """Whether these words (what follows a likeness request) name one of the featured person cameos."""
    folded = fold(text)
    joined = " ".join(tokens(folded))
    for cameo in cameos:
        if cameo.kind != "person" or not cameo.verified:
            continue
        if any(re.search(rf"@{re.escape(h)}(?![\w.])", folded) for h in cameo.mention_handles()):
            return True
        for name in cameo.person_names():
            name_toks = " ".join(_alias_tokens(name))
            if name_toks and re.search(rf"(?<![a-z0-9]){re.escape(name_toks)}(?![a-z0-9])", joined):
                return True
    return False


def _private_likeness(prompt: str, cameos: Sequence[CameoSubject]) -> tuple[str, str] | None:
    """(code, reason) when the prompt asks for a real private person's likeness without their cameo."""
    original = unicodedata.normalize("NFKC", prompt)
    for pattern in (_NAMED_RELATION, _NAMED_REALISM):
        for match in pattern.finditer(original):
            full_name, first = match.group(1), match.group(2)
            if first.casefold() in _first_names() and not _covered_by_cameo(full_name, cameos):
                return "likeness_private_person", f"asks for a named real person ({full_name!r}) without their cameo"
    for spelling in variants(prompt):
        for pattern, code, what in (
            (_DEEPFAKE, "likeness_deepfake", "a deepfake or face swap"),
            (_LIKENESS_REQUEST, "likeness_private_person", "a real person's likeness"),
            (_REAL_PERSON, "likeness_private_person", "realistic footage of a real person"),
        ):
            match = pattern.search(spelling)
            # "deepfake of @alice" or "like my mom @carol" is fine when that cameo is in the video.
            if match and not _covered_by_cameo(spelling[match.end() : match.end() + 40], cameos):
                return code, f"asks for {what} ({match.group(0)!r})"
    return None


def check_likeness(
    prompt: str, cameos: Sequence[CameoSubject] = (), *, plain_mentions: Iterable[str] = ()
) -> PolicyResult:
    """Block a prompt that depicts a real person who is not one of the featured cameos.

    plain_mentions: @handles the caller looked up (`mention_phrases`) and found to name no cameo
    ("a neon sign that says @home": plain text), or a featured cameo by its multi-word name
    ("@Blue Mug"). Every other mention must be a featured cameo's.
    """
    allowed_handles = set().union(*(c.mention_handles() for c in cameos)) if cameos else set()
    allowed_handles |= {h.lower() for h in plain_mentions}
    # "@alice-themed" still refers to @alice: a mention counts as featured if it or its part
    # before a hyphen is a featured cameo's handle.
    strangers = [
        h for h in mentioned_handles(prompt) if h not in allowed_handles and h.split("-")[0] not in allowed_handles
    ]
    figures = find_public_figures(prompt)
    unconsented = [f for f in figures if consenting_cameo(f, cameos) is None]
    private = _private_likeness(prompt, cameos)
    scores = {
        "public_figures": float(len(figures)),
        "public_figures_without_cameo": float(len(unconsented)),
        "mentions_without_cameo": float(len(strangers)),
        "private_person_request": 1.0 if private else 0.0,
    }
    reasons: list[str] = []
    code = ""
    if strangers:
        code = "likeness_without_cameo"
        reasons.append("mentions " + ", ".join(f"@{h}" for h in strangers) + " without their cameo in this video")
    if unconsented:
        code = code or "likeness_public_figure"
        reasons.append("names " + ", ".join(f.name for f in unconsented) + ", a public figure, without their cameo")
    if private:
        code = code or private[0]
        reasons.append(private[1])
    if not reasons:
        return PolicyResult.allow(LAYER, scores=scores)
    return PolicyResult("block", LAYER, code, "likeness", tuple(reasons), scores)
