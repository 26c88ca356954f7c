"""Build the labelled prompt sets the moderation layers are trained and evaluated on.

    python manage.py build_moderation_prompts     # rewrites data/prompts.csv and data/restrictions.csv
    python -m tools.moderation.build_prompts      # the same, without Django

The vocabulary is data, not code: `vocabulary/prompts.json` (framings, settings, benign subjects
and actions, hard negatives, harmful phrasings per category, likeness templates, obfuscation
maps) and `vocabulary/restrictions.json` (prompts per cameo restriction, benign cameo prompts,
character licences). Each list has a seen part (train/validation) and, where it ends in
`_unseen`, phrasings used only in the held-out split. All of it was written by the project for
this purpose and ships under the project's licence; nothing is downloaded or copied from a public
dataset. The output is deterministic (seeded): rebuilding gives byte-identical files.

prompts.csv (text, label, category, split, variant, cameos):
- label: "harmful" or "benign"; category: a content category (see moderation.policy.categories),
  "likeness", or "benign".
- split: "train", "validation" or "heldout". Held-out rows come from phrasings, framings and
  vocabulary that never appear in train or validation (variant "paraphrase"), and from
  obfuscations the training set does not contain (variant "obfuscated": spaced letters,
  homoglyphs, zero-width characters, mixed tricks); train only has plain leetspeak and
  stretched letters. No normalised text occurs in two splits.
- cameos: the consenting cameos the prompt features, "handle=Display Name" joined by ";".

restrictions.csv (text, restrictions, allowed_themes, forbidden_themes, expected, split): prompts
featuring a cameo whose owner set restrictions, or a character cameo with a licence, and what
the restriction layer should say. "validation" rows pick the thresholds; "heldout" rows are
for the eval only.
"""

from __future__ import annotations

import csv
import json
import random
import re
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moderation.policy.likeness import FIGURES_PATH
from moderation.policy.normalize import normalize

SEED = 20261122
HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
PROMPTS_PATH = DATA_DIR / "prompts.csv"
RESTRICTIONS_PATH = DATA_DIR / "restrictions.csv"
PEOPLE_PATH = DATA_DIR / "people_actions.csv"
MULTILINGUAL_PATH = DATA_DIR / "multilingual.csv"
LANGUAGES = ("en", "fr", "es", "de", "zh", "ru")


def _vocabulary(name: str) -> dict[str, Any]:
    with (HERE / "vocabulary" / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


P = _vocabulary("prompts")  # the prompt sets' vocabulary
R = _vocabulary("restrictions")  # the restriction set's vocabulary


def _display(handle: str) -> str:
    return re.sub(r"[._\d]+", " ", handle).strip().title()


# --- obfuscation -----------------------------------------------------------------------------------


def _content_words(text: str) -> list[int]:
    words = text.split(" ")
    return [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and w not in {"with", "from", "that", "into"}]


def _apply_to_words(text: str, rng: random.Random, fn: Callable[[str, random.Random], str], k: int = 2) -> str:
    words = text.split(" ")
    picks = _content_words(text)
    for i in rng.sample(picks, min(k, len(picks))):
        words[i] = fn(words[i], rng)
    return " ".join(words)


def leet(text: str, rng: random.Random) -> str:
    return _apply_to_words(
        text, rng, lambda w, r: "".join(P["leet_map"][c] if c in P["leet_map"] and r.random() < 0.7 else c for c in w)
    )


def stretch(text: str, rng: random.Random) -> str:
    def one(w: str, r: random.Random) -> str:
        vowels = [i for i, c in enumerate(w) if c in "aeiou"]
        if not vowels:
            return w
        i = r.choice(vowels)
        return w[: i + 1] + w[i] * r.randint(2, 4) + w[i + 1 :]

    return _apply_to_words(text, rng, one)


def spaced(text: str, rng: random.Random) -> str:
    return _apply_to_words(text, rng, lambda w, r: r.choice([" ", ".", "-", "*"]).join(w), k=1)


def homoglyph(text: str, rng: random.Random) -> str:
    return "".join(P["homoglyph_map"][c] if c in P["homoglyph_map"] and rng.random() < 0.5 else c for c in text)


def zero_width(text: str, rng: random.Random) -> str:
    return _apply_to_words(text, rng, lambda w, r: "\u200b".join(w[i : i + 2] for i in range(0, len(w), 2)), k=2)


def mixed(text: str, rng: random.Random) -> str:
    return (
        homoglyph(leet(spaced(text, rng), rng), rng).upper() if rng.random() < 0.3 else homoglyph(leet(text, rng), rng)
    )


TRAIN_OBFUSCATIONS = [leet, stretch]
HELDOUT_OBFUSCATIONS = [spaced, homoglyph, zero_width, mixed, leet, stretch]


# --- assembling rows ---------------------------------------------------------------------------------
class _Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self._keys: dict[str, str] = {}  # normalised text -> split, so no text is in two splits

    def add(
        self,
        text: str,
        label: str,
        category: str,
        split: str,
        variant: str,
        cameos: Iterable[str | tuple[str, str]] = (),
    ) -> None:
        key = normalize(text)
        if key in self._keys:
            return
        self._keys[key] = split
        pairs = [c if isinstance(c, tuple) else (c, _display(c)) for c in cameos]
        cameo_field = ";".join(f"{h}={name}" for h, name in pairs)
        self.rows.append(
            {
                "text": text,
                "label": label,
                "category": category,
                "split": split,
                "variant": variant,
                "cameos": cameo_field,
            }
        )


# Validation gets phrasings of its own too: about one in six seen items (by a stable hash) never
# reaches the training split, so thresholds are chosen on text the model has not memorised, the
# way held-out and real prompts will be.


def _val_only(item: str) -> bool:
    return zlib.crc32(item.encode()) % 6 == 0


def _pick(seen: list[str], unseen: list[str], mode: str) -> list[str]:
    if mode == "heldout":
        return list(unseen)
    part = [x for x in seen if _val_only(x) == (mode == "val")]
    return part or list(seen)


def _pairs(left: list[str], right: list[str], left_new: list[str], right_new: list[str], mode: str) -> list[str]:
    """Subject x action pairs: train pairs use train parts only; val pairs have a val-only part."""
    if mode == "heldout":
        return [f"{a} {b}" for a in left_new for b in right + right_new] + [f"{a} {b}" for a in left for b in right_new]
    pairs = [(a, b) for a in left for b in right]
    if mode == "train":
        return [f"{a} {b}" for a, b in pairs if not (_val_only(a) or _val_only(b))]
    return [f"{a} {b}" for a, b in pairs if _val_only(a) or _val_only(b)]


def _frame(rng: random.Random, core: str, mode: str, with_setting: bool = True) -> str:
    frames = {"train": P["frames_seen"], "val": P["frames_val"] + P["frames_seen"], "heldout": P["frames_unseen"]}[mode]
    settings = {"train": P["settings_seen"], "val": P["settings_val"], "heldout": P["settings_unseen"]}[mode]
    body = core + (rng.choice(settings) if with_setting else "")
    return rng.choice(frames).format(x=body)


def _maybe_cameo(rng: random.Random, text: str, mode: str, p: float = 0.15) -> tuple[str, list[str]]:
    if rng.random() >= p:
        return text, []
    handle = rng.choice(P["handles_unseen"] if mode == "heldout" else P["handles_seen"])
    return f"@{handle} watching {text}" if rng.random() < 0.5 else f"{text} with @{handle}", [handle]


def _benign_pool(mode: str) -> list[str]:
    pool = _pairs(P["animals"], P["animal_actions"], P["animals_unseen"], P["animal_actions_unseen"], mode)
    pool += _pairs(P["athletes"], P["sport_actions"], P["athletes_unseen"], P["sport_actions_unseen"], mode)
    pool += _pairs(
        P["people_generic"], P["actions_generic"], P["people_generic_unseen"], P["actions_generic_unseen"], mode
    )
    pool += _pick(P["passive_generic"], P["passive_generic_unseen"], mode) * 8
    pool += [f.format(c=c) for f in P["howto_frames"] for c in _pick(P["crafts"], P["crafts_unseen"], mode)] * 2
    pool += _pick(P["food"], P["food_unseen"], mode) * 4 + _pick(P["places"], P["places_unseen"], mode) * 4
    pool += _pick(P["fantasy"], P["fantasy_unseen"], mode) * 4 + _pick(P["people"], P["people_unseen"], mode) * 4
    pool += _pick(P["hard_negatives"], P["hard_negatives_unseen"], mode) * 6
    return pool


def _harm_pool(category: str, mode: str) -> list[str]:
    if category == "sexual_minors":
        if mode == "heldout":
            return P["harm_unseen"]["sexual_minors"] * 3
        return _pairs(P["minors_seen"], P["minor_contexts_seen"], [], [], mode)
    if category == "hate":
        if mode == "heldout":
            templated = [
                t.format(g=g) for t in P["hate_templates_unseen"] for g in P["groups_unseen"] + P["groups_seen"][:2]
            ]
            return templated + P["hate_fixed_unseen"] * 3
        templates = _pick(P["hate_templates_seen"], [], mode)
        return [t.format(g=g) for t in templates for g in P["groups_seen"]] + _pick(P["hate_fixed_seen"], [], mode) * 3
    return _pick(P["harm_seen"][category], P["harm_unseen"][category], mode) * 4


def _compose(
    rng: random.Random, core: str, label: str, mode: str, obfuscations, p_obf: float
) -> tuple[str, str, list[str]]:
    """A row's text from its core: maybe a cameo, a frame, maybe an obfuscation; with its variant."""
    # Harmful rows feature cameos more often, because benign ones also get the cameo-only rows below.
    core, handles = _maybe_cameo(rng, core, mode, p=0.3 if label == "harmful" else 0.15)
    text = _frame(rng, core, mode)
    variant = "plain" if mode == "train" else "paraphrase"
    if rng.random() < p_obf:
        text = rng.choice(obfuscations)(text, rng)
        variant = "obfuscated"
    return text, variant, handles


def build_prompt_rows(seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = _Rows()

    def emit(core: str, label: str, category: str, mode: str, split: str, obfuscations, p_obf: float) -> None:
        text, variant, handles = _compose(rng, core, label, mode, obfuscations, p_obf)
        rows.add(text, label, category, split, variant, handles)

    def seen_split() -> str:
        return "validation" if rng.random() < 0.15 else "train"

    # Train phrasings -> train (and some in-distribution validation), with the simple obfuscations only.
    for _ in range(3600):
        core = rng.choice(_benign_pool("train"))
        if rng.random() < 0.12:
            core = rng.choice(P["remix"]) + ": " + core
        emit(core, "benign", "benign", "train", seen_split(), TRAIN_OBFUSCATIONS, 0.08)
    for i in range(500):
        handles = rng.sample(P["handles_seen"], rng.choice([1, 1, 2]))
        text = " and ".join(f"@{h}" for h in handles) + " " + rng.choice(P["cameo_actions"])
        rows.add(_frame(rng, text, "train", with_setting=False), "benign", "benign", seen_split(), "plain", handles)
        if i < 60:
            rows.add(
                rng.choice(P["remix"]) + f" with @{handles[0]}", "benign", "benign", seen_split(), "plain", handles[:1]
            )
    for category in P["harm_seen"]:
        pool = _harm_pool(category, "train")
        for _ in range(230):
            emit(rng.choice(pool), "harmful", category, "train", seen_split(), TRAIN_OBFUSCATIONS, 0.12)

    # Validation-only phrasings (and obfuscations like the held-out ones, with their own frames).
    for _ in range(450):
        emit(rng.choice(_benign_pool("val")), "benign", "benign", "val", "validation", HELDOUT_OBFUSCATIONS, 0.15)
    for category in P["harm_seen"]:
        pool = _harm_pool(category, "val")
        for _ in range(45):
            emit(rng.choice(pool), "harmful", category, "val", "validation", HELDOUT_OBFUSCATIONS, 0.2)

    # Held-out: unseen phrasings, and obfuscations of train ones in styles training never had.
    for _ in range(500):
        emit(rng.choice(_benign_pool("heldout")), "benign", "benign", "heldout", "heldout", HELDOUT_OBFUSCATIONS, 0.15)
    for _ in range(120):
        emit(rng.choice(_benign_pool("train")), "benign", "benign", "train", "heldout", HELDOUT_OBFUSCATIONS, 1.0)
    for _ in range(80):
        handles = rng.sample(P["handles_unseen"], rng.choice([1, 2]))
        text = " and ".join(f"@{h}" for h in handles) + " " + rng.choice(P["cameo_actions_unseen"] + P["cameo_actions"])
        rows.add(_frame(rng, text, "heldout", with_setting=False), "benign", "benign", "heldout", "paraphrase", handles)
    for category in P["harm_seen"]:
        unseen_pool, seen_pool = _harm_pool(category, "heldout"), _harm_pool(category, "train")
        for _ in range(70):
            emit(rng.choice(unseen_pool), "harmful", category, "heldout", "heldout", HELDOUT_OBFUSCATIONS, 0.2)
        for _ in range(25):
            emit(rng.choice(seen_pool), "harmful", category, "train", "heldout", HELDOUT_OBFUSCATIONS, 1.0)

    _add_likeness_rows(rows, rng)
    rng.shuffle(rows.rows)
    order = {"train": 0, "validation": 1, "heldout": 2}
    rows.rows.sort(key=lambda r: order[r["split"]])
    # Added after the shuffle with a generator of its own, so every earlier row (and the whole
    # held-out split) stays as it was: benign people going about their day, train/validation only.
    _add_people_rows(rows, random.Random(seed + 3))
    _add_extra_harm_rows(rows, random.Random(seed + 4))
    rows.rows.sort(key=lambda r: order[r["split"]])
    return rows.rows


def _add_people_rows(rows: _Rows, rng: random.Random, n: int = 900, minor_actions: int = 14) -> None:
    """Everyday people prompts (vocabulary people_everyday_*, people_minor_*): bare subjects ("a
    man", "people") in a few framings, and subject + action pairs, children's among them. None of
    the evaluation's people set is among them (its texts are skipped), and its actions are a
    different list."""
    held_out = {normalize(r["text"]) for r in build_people_rows()}
    subjects, actions = P["people_everyday_subjects"], P["people_everyday_actions"]

    def add(text: str) -> None:
        if normalize(text) not in held_out:
            rows.add(text, "benign", "benign", "validation" if rng.random() < 0.15 else "train", "people")

    for subject in subjects:
        for frame in rng.sample(P["frames_seen"], 3):
            add(frame.format(x=subject))
    for _ in range(n):
        core = f"{rng.choice(subjects)} {rng.choice(actions)}"
        add(_frame(rng, core, "train"))
    # Children doing ordinary things, named as the sexual_minors rows name them ("a little girl",
    # "a 12 year old girl"): without these, a child as the subject is itself a sign of harm to the
    # classifier, and a prompt about a child doing chores scored as sexual_minors (issue 20).
    # Their actions and settings leave out what is only ordinary for adults (undressing, bedrooms,
    # sunbathing): those stay the harm the classifier should see in a prompt about a child.
    settings = [s for s in P["settings_seen"] if "bedroom" not in s]
    for subject in P["people_minor_subjects"]:
        for action in rng.sample(P["people_minor_actions"], minor_actions):
            add(rng.choice(P["frames_seen"]).format(x=f"{subject} {action}{rng.choice(settings)}"))


def _add_extra_harm_rows(rows: _Rows, rng: random.Random, per_category: int = 120) -> None:
    """More harmful phrasings for the categories whose recall was lowest (vocabulary
    harm_extra_seen, written for issue 20 without reading the held-out phrasings), in train and
    validation only, as the train phrasings are: a sixth of them (by the same stable hash) reach
    validation only, with benign rows that use the same words. Made with a generator of their own,
    so every earlier row stays as it was."""
    for category, phrasings in P["harm_extra_seen"].items():
        for split, mode, count in (("train", "train", per_category), ("validation", "val", per_category // 5)):
            pool = _pick(phrasings, [], mode)
            obfuscations, p_obf = (TRAIN_OBFUSCATIONS, 0.12) if mode == "train" else (HELDOUT_OBFUSCATIONS, 0.2)
            for _ in range(count):
                text, variant, handles = _compose(rng, rng.choice(pool), "harmful", mode, obfuscations, p_obf)
                row_split = "validation" if mode == "train" and rng.random() < 0.15 else split
                rows.add(text, "harmful", category, row_split, variant, handles)
    # Their benign counterparts: everyday people doing things named by the same words (shooting a
    # video, taking a pill, a small cut), so the new phrasings do not make those words harmful.
    subjects, actions = P["people_everyday_subjects"], P["people_hard_negative_actions"]
    for _ in range(per_category * 2):
        text = _frame(rng, f"{rng.choice(subjects)} {rng.choice(actions)}", "train")
        rows.add(text, "benign", "benign", "validation" if rng.random() < 0.15 else "train", "people")
    # And ordinary scenes with the places and things the new phrasings name (a car, a bathtub, a
    # hotel room, pliers, a train), which would otherwise be evidence of harm on their own.
    for split, mode, count in (("train", "train", per_category * 2), ("validation", "val", per_category // 2)):
        pool = _pick(P["benign_extra_seen"], [], mode)
        for _ in range(count):
            row_split = "validation" if mode == "train" and rng.random() < 0.15 else split
            rows.add(_frame(rng, rng.choice(pool), mode), "benign", "benign", row_split, "plain")


def _figure_names() -> list[tuple[str, list[str]]]:
    with FIGURES_PATH.open(newline="", encoding="utf-8") as handle:
        out = []
        for row in csv.DictReader(handle):
            aliases = [a.lstrip("^") for a in row["aliases"].split("|") if a.strip()]
            out.append((row["name"], aliases))
        return out


def _add_likeness_rows(rows: _Rows, rng: random.Random) -> None:
    """Likeness rows are held-out only: the guard is a list and patterns, nothing is trained on them."""
    figures = _figure_names()
    rng.shuffle(figures)
    for name, aliases in figures[:160]:
        spelled = rng.choice([name, name, name.lower(), *aliases]) if aliases else rng.choice([name, name.lower()])
        text = rng.choice(P["figure_templates"]).format(n=spelled, a=rng.choice(P["figure_actions"]))
        variant = "plain"
        if rng.random() < 0.25:
            text = rng.choice([leet, homoglyph, spaced])(text, rng)
            variant = "obfuscated"
        rows.add(text, "harmful", "likeness", "heldout", variant)
    # The same people, but featured through their own verified cameo: allowed.
    for name, _ in figures[160:220]:
        handle = re.sub(r"[^a-z0-9]", "", name.lower())[:30]
        text = name + " " + rng.choice(P["figure_actions"])
        rows.add(text, "benign", "benign", "heldout", "consenting_cameo", [(handle, name)])
    for text in P["private_likeness"]:
        rows.add(text, "harmful", "likeness", "heldout", "paraphrase")
    for _ in range(40):
        handle = rng.choice(P["handles_unseen"] + P["handles_seen"])
        rows.add(
            f"@{handle} " + rng.choice(P["cameo_actions_unseen"] + P["cameo_actions"]),
            "harmful",
            "likeness",
            "heldout",
            "mention_without_cameo",
        )
    for text in P["likeness_hard_negatives"]:
        rows.add(text, "benign", "benign", "heldout", "likeness_hard_negative")


# --- restrictions ------------------------------------------------------------------------------------
def build_restriction_rows(seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed + 1)
    rows: list[dict[str, str]] = []
    codes = list(R["restriction_prompts"])

    def split() -> str:
        return "validation" if rng.random() < 0.45 else "heldout"

    for code, prompts in R["restriction_prompts"].items():
        for template in prompts:
            text = template.format(h=rng.choice(P["handles_seen"]))
            rows.append(_restriction_row(text, code, "", "", "flag", split()))
            # The same prompt under a different, unrelated restriction must not be flagged.
            other = rng.choice([c for c in codes if c != code and not _related(c, code)])
            rows.append(_restriction_row(text, other, "", "", "allow", split()))
    for template in R["restriction_benign"]:
        text = template.format(h=rng.choice(P["handles_seen"]))
        restrictions = "|".join(rng.sample(codes, 3))
        rows.append(_restriction_row(text, restrictions, "", "", "allow", split()))
    for licence in R["licence_cases"]:
        allowed, forbidden = "|".join(licence["allowed_themes"]), "|".join(licence["forbidden_themes"])
        for case in licence["cases"]:
            text = case["text"].format(c="@" + rng.choice(["captain_comet", "chef_pip", "sporty_spark"]))
            rows.append(_restriction_row(text, "", allowed, forbidden, case["expected"], split()))
    return rows


def _related(a: str, b: str) -> bool:
    # Topics that genuinely overlap; a prompt about one is not a clean negative for the other.
    pairs = {
        frozenset({"no_romantic", "no_sexual"}),
        frozenset({"no_violence", "no_horror"}),
        frozenset({"no_political", "no_advertising"}),
        frozenset({"no_mockery", "no_violence"}),
        frozenset({"no_alcohol_drugs", "no_advertising"}),
    }
    return frozenset({a, b}) in pairs


def _restriction_row(text: str, restrictions: str, allowed: str, forbidden: str, expected: str, split: str):
    return {
        "text": text,
        "restrictions": restrictions,
        "allowed_themes": allowed,
        "forbidden_themes": forbidden,
        "expected": expected,
        "split": split,
    }


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# --- the benign people-and-actions evaluation set ----------------------------------------------------
def build_people_rows(seed: int = SEED, n: int = 1100) -> list[dict[str, str]]:
    """Benign prompts about people (vocabulary/people_eval.json), for the evaluation only: nothing
    is trained on them. Each bare subject ("a man", "people") is a row; then subject + action
    (+ setting) combinations. Split by the action (bare subjects by the subject): "dev" rows may
    choose thresholds, "test" rows are only reported, and no action is in both."""
    vocabulary = _vocabulary("people_eval")
    rng = random.Random(seed + 2)

    def split(key: str) -> str:
        return "dev" if zlib.crc32(key.encode()) % 2 == 0 else "test"

    rows: dict[str, dict[str, str]] = {}
    for subject in vocabulary["subjects"]:
        rows[subject] = {"text": subject, "subject": subject, "action": "", "split": split(subject)}
    while len(rows) < n:
        subject, action = rng.choice(vocabulary["subjects"]), rng.choice(vocabulary["actions"])
        text = f"{subject} {action}{rng.choice(vocabulary['settings'])}"
        rows.setdefault(text, {"text": text, "subject": subject, "action": action, "split": split(action)})
    return sorted(rows.values(), key=lambda r: (r["split"], r["text"]))


def build_multilingual_rows() -> list[dict[str, str]]:
    """The multilingual set (vocabulary/multilingual.json): each item in English and five
    translations; items alternate dev / test, so an item and its translations share a split."""
    rows = []
    for i, item in enumerate(_vocabulary("multilingual")["items"]):
        for language in LANGUAGES:
            rows.append(
                {
                    "item": str(i),
                    "language": language,
                    "text": item[language],
                    "label": item["label"],
                    "category": item["category"],
                    "split": "dev" if i % 2 == 0 else "test",
                }
            )
    return rows


def build() -> list[str]:
    """Write both files; returns a summary (row counts per split and category)."""
    prompts = build_prompt_rows()
    write_csv(PROMPTS_PATH, prompts)
    restrictions = build_restriction_rows()
    write_csv(RESTRICTIONS_PATH, restrictions)
    people = build_people_rows()
    write_csv(PEOPLE_PATH, people)
    write_csv(MULTILINGUAL_PATH, build_multilingual_rows())
    counts: dict[tuple[str, str], int] = {}
    for row in prompts:
        counts[(row["split"], row["category"])] = counts.get((row["split"], row["category"]), 0) + 1
    lines = [
        f"wrote {len(prompts)} prompts to {PROMPTS_PATH}, {len(restrictions)} rows to {RESTRICTIONS_PATH}, "
        f"{len(people)} people prompts to {PEOPLE_PATH}"
    ]
    lines += [f"  {split:10s} {category:14s} {n:5d}" for (split, category), n in sorted(counts.items())]
    return lines


if __name__ == "__main__":
    print("\n".join(build()))
