"""Cameo restrictions: an owner's "no political", "no romantic", … and a character's licence.

Plain module, no Django. For each featured cameo:
- each restriction code its owner set is checked with a keyword lexicon (a hit blocks) and with
  the sentence-embedding similarity between the prompt and short example sentences of the
  theme (at or above SIMILARITY_BLOCK blocks, at or above SIMILARITY_REVIEW asks for review);
- a character's licence: a forbidden theme is checked the same way (a restriction code, or a
  theme word such as "politics" that names one, uses that code's lexicon and examples; any other
  theme uses its own words and "a video about <theme>"); when allowed themes are given and the
  prompt matches none of them, by keyword or by similarity (below LICENCE_ON_THEME), it goes to
  review as off-theme.

The thresholds were chosen on the "validation" rows of data/restrictions.csv (see
docs/moderation.md and `python manage.py eval_moderation`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from moderation.policy import semantic
from moderation.policy.categories import RESTRICTION_CODES
from moderation.policy.normalize import variants
from moderation.policy.result import PolicyResult, combine
from moderation.policy.subjects import CameoSubject

LAYER = "cameo_restrictions"

SIMILARITY_REVIEW = 0.44
SIMILARITY_BLOCK = 0.55
LICENCE_ON_THEME = 0.27


@dataclass(frozen=True)
class Theme:
    code: str
    lexicon: re.Pattern[str]
    examples: tuple[str, ...]


def _lexicon(body: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


THEMES: dict[str, Theme] = {
    "no_political": Theme(
        "no_political",
        _lexicon(
            r"politic\w*|elections?|electoral|vot(?:e|es|ed|ing|ers?)|ballots?|campaign(?:ing|s)?(?= (?:rally|ad|"
            r"speech|"
            r"trail|poster|t-shirt|event|office|for))|campaigning|candidates?|senators?|congress\w*|parliament\w*|"
            r"president(?:s|ial)?|prime minister|mayor(?:al)?|governor|democrats?|republicans?|left-wing|right-wing|"
            r"protests?|protesters?|political rally|legislation|laws?|government|referendum|partisan|impeach\w*|"
            r"white house|policy debate|party flag|convention delegates?"
        ),
        (
            "a politician giving a speech at a campaign rally",
            "people voting in an election",
            "a political protest with signs",
            "a debate between candidates for office",
            "supporting a political party",
            "a head of state signing a law",
        ),
    ),
    "no_romantic": Theme(
        "no_romantic",
        _lexicon(
            r"romanc\w*|romantic\w*|kiss\w*|on a date|date night|first date|dinner date|blind date|dating|candlelit|"
            r"flirt\w*|boyfriends?|girlfriends?|lovers?|crush|propos(?:e|es|ed|ing|al)|honeymoon|valentine\w*|in love|"
            r"love letter|mak(?:e|es|ing) out|cuddl\w*|wedding night|slow danc\w*|holding hands|sweetheart|soulmate|"
            r"admirer|meet-cute"
        ),
        (
            "a couple kissing",
            "a romantic date",
            "flirting with someone",
            "two people falling in love",
            "holding hands on a romantic walk",
            "a marriage proposal",
        ),
    ),
    "no_sexual": Theme(
        "no_sexual",
        _lexicon(
            r"sex\w*|nude|naked|lingerie|seductiv\w*|sultry|sensual\w*|strip(?:s|ped|ping|per|pers|tease)?|"
            r"lap ?danc\w*|erotic\w*|steamy|bikini|underwear|twerk\w*|topless|shirtless|provocativ\w*|porn\w*|nsfw|"
            r"bedroom scene|taking off (?:their|his|her) (?:shirt|clothes)"
        ),
        (
            "a person posing seductively",
            "a sexy dance",
            "a person in lingerie",
            "a steamy bedroom scene",
            "taking off clothes for the camera",
            "a provocative photoshoot",
        ),
    ),
    "no_violence": Theme(
        "no_violence",
        _lexicon(
            r"fight\w*|punch\w*|brawl\w*|shoot(?:s|ing)?(?! hoops)|shootout|gun\w*|knife|knives|stab\w*|kill(?:s|ed|"
            r"ing)?|"
            r"murder\w*|weapons?|attack\w*|assault\w*|beat(?:s|ing)? up|beaten|bloody|violent|violence|hitman|"
            r"strangl\w*|slap\w*|explod\w*|bombs?|war|battle\w*|swords?|kicking (?:someone|him|her|them)|bar fight"
        ),
        (
            "people fighting and punching each other",
            "attacking someone with a weapon",
            "a violent brawl",
            "shooting a gun at someone",
            "beating someone up",
            "a gunfight",
        ),
    ),
    "no_religious": Theme(
        "no_religious",
        _lexicon(
            r"relig\w*|church\w*|cathedral\w*|mosques?|temples?|synagogues?|pray\w*|worship\w*|god|gods|jesus|christ|"
            r"allah|buddha|buddhist|bible|quran|koran|torah|priests?|pastors?|imams?|rabbis?|monks?|nuns?|baptis\w*|"
            r"communion|altar|pilgrimage|mecca|scripture\w*|gospel|hymns?|bar mitzvah|bat mitzvah|shrines?|"
            r"sermons?|holy|saints?|crucifix\w*|rosary|ramadan|preach\w*"
        ),
        (
            "praying in a church",
            "a religious ceremony",
            "worshipping at a temple",
            "reading scripture",
            "a priest blessing people",
            "a pilgrimage to a holy site",
        ),
    ),
    "no_alcohol_drugs": Theme(
        "no_alcohol_drugs",
        _lexicon(
            r"alcohol\w*|beers?|wine|wines|vodka|whiske?y|tequila|rum|gin|cocktails?|martinis?|champagne|drunk\w*|"
            r"tipsy|booze|doing shots|shots of (?:vodka|tequila|whiske?y|rum|gin|liquor)|hangover|hungover|"
            r"bar crawl|pub crawl|kegs?|chug\w*|cigarettes?|cigars?|smok(?:e|es|ing)|vap(?:e|es|ing)|weed|"
            r"marijuana|cannabis|joints?|bongs?|drugs?|pills|cocaine|heroin|meth|mdma|molly|ecstasy|lsd|shrooms|"
            r"stoned|speakeasy|brewery|drinking"
        ),
        (
            "drinking beer at a bar",
            "getting drunk at a party",
            "smoking a cigarette",
            "taking drugs",
            "doing shots of vodka",
            "smoking weed",
        ),
    ),
    "no_mockery": Theme(
        "no_mockery",
        _lexicon(
            r"mock\w*|humiliat\w*|ridicul\w*|mak(?:e|es|ing) fun of|made fun of|laugh(?:s|ed|ing)? at|jeer\w*|"
            r"taunt\w*|embarrass\w*|bully\w*|bullied|roast(?:ed|ing)?|pranked|butt of|dunce|points and laughs?|"
            r"insult\w*|belittl\w*|shaming"
        ),
        (
            "mocking and laughing at someone",
            "humiliating someone in public",
            "making fun of someone",
            "an embarrassing prank on someone",
            "ridiculing a person",
            "a crowd jeering at a person",
        ),
    ),
    "no_horror": Theme(
        "no_horror",
        _lexicon(
            r"horror|zombies?|ghosts?|haunted|demons?|demonic|possessed|monsters?|slasher|werewol\w*|vampires?|creepy|"
            r"scary|terrif\w*|nightmares?|blood\w*|gore|gory|corpses?|coffins?|undead|exorcis\w*|serial killer|"
            r"masked killer|asylum|jump ?scares?"
        ),
        (
            "a scary horror movie scene",
            "being chased by a monster",
            "a haunted house with ghosts",
            "a zombie attack",
            "a creepy nightmare",
            "a person covered in blood in the dark",
        ),
    ),
    "no_advertising": Theme(
        "no_advertising",
        _lexicon(
            r"advert\w*|ads?|commercials?|sponsor\w*|endors\w*|promot\w*|brands?|discount codes?|promo codes?|"
            r"buy now|infomercial\w*|spokes(?:person|man|woman)|product placement|unboxing|paid partnership|logos?|"
            r"marketing|shop now|limited time offer|crypto coin"
        ),
        (
            "an advertisement for a product",
            "endorsing a brand",
            "a sponsored product review",
            "a tv commercial",
            "promoting a discount code",
            "a celebrity spokesperson selling something",
        ),
    ),
}
assert set(THEMES) == set(RESTRICTION_CODES)

# Licence theme words that name a restriction's topic ("politics" -> the no_political lexicon).
THEME_WORDS: dict[str, str] = {
    "politics": "no_political",
    "political": "no_political",
    "romance": "no_romantic",
    "romantic": "no_romantic",
    "dating": "no_romantic",
    "sex": "no_sexual",
    "sexual": "no_sexual",
    "nudity": "no_sexual",
    "violence": "no_violence",
    "violent": "no_violence",
    "weapons": "no_violence",
    "fighting": "no_violence",
    "religion": "no_religious",
    "religious": "no_religious",
    "alcohol": "no_alcohol_drugs",
    "drugs": "no_alcohol_drugs",
    "smoking": "no_alcohol_drugs",
    "mockery": "no_mockery",
    "bullying": "no_mockery",
    "horror": "no_horror",
    "gore": "no_horror",
    "advertising": "no_advertising",
    "ads": "no_advertising",
    "endorsements": "no_advertising",
}


def _theme_for(theme: str) -> Theme:
    """A licence theme as a Theme: a known code or theme word maps to its code's Theme."""
    key = theme.strip().casefold()
    code = key if key in THEMES else THEME_WORDS.get(key)
    if code:
        return THEMES[code]
    words = [re.escape(w) + r"\w*" for w in re.findall(r"[a-z0-9]+", key) if len(w) > 2]
    lexicon = _lexicon("|".join(words)) if words else _lexicon(re.escape(key))
    return Theme(key, lexicon, (f"a video about {key}", key))


def _keyword(prompt: str, theme: Theme) -> str | None:
    for spelling in variants(prompt):
        match = theme.lexicon.search(spelling)
        if match:
            return match.group(0)
    return None


def _similarity(vector: np.ndarray, theme: Theme) -> float:
    examples = semantic.embed_phrases(theme.examples)
    return float(np.max(examples @ vector))


def theme_score(prompt: str, theme: Theme, vector: np.ndarray | None = None) -> tuple[str | None, float]:
    """(keyword matched or None, best similarity to the theme's examples)."""
    vector = semantic.embed_prompt(prompt) if vector is None else vector
    return _keyword(prompt, theme), _similarity(vector, theme)


def _restriction_result(cameo: CameoSubject, code: str, prompt: str, vector: np.ndarray) -> PolicyResult:
    theme = THEMES[code]
    keyword, similarity = theme_score(prompt, theme, vector)
    scores = {f"{cameo.cameo_id}.{code}.similarity": similarity}
    label = RESTRICTION_CODES[code].lower()
    if keyword:
        reason = f"{cameo.label}'s owner asks for {label} (the prompt says {keyword!r})"
        return PolicyResult("block", LAYER, "cameo_restriction", "cameo_restriction", (reason,), scores)
    if similarity >= SIMILARITY_REVIEW:
        decision = "block" if similarity >= SIMILARITY_BLOCK else "review"
        reason = f"{cameo.label}'s owner asks for {label} (similarity {similarity:.2f} to that theme)"
        return PolicyResult(decision, LAYER, "cameo_restriction", "cameo_restriction", (reason,), scores)
    return PolicyResult.allow(LAYER, scores=scores)


def _licence_results(cameo: CameoSubject, prompt: str, vector: np.ndarray) -> list[PolicyResult]:
    results = []
    for forbidden in cameo.forbidden_themes:
        theme = _theme_for(forbidden)
        keyword, similarity = theme_score(prompt, theme, vector)
        scores = {f"{cameo.cameo_id}.forbidden.{forbidden}.similarity": similarity}
        if keyword or similarity >= SIMILARITY_REVIEW:
            decision = "block" if keyword or similarity >= SIMILARITY_BLOCK else "review"
            why = f"the prompt says {keyword!r}" if keyword else f"similarity {similarity:.2f}"
            reason = f"{cameo.label}'s licence forbids {forbidden!r} ({why})"
            results.append(PolicyResult(decision, LAYER, "licence_forbidden_theme", "licence", (reason,), scores))
        else:
            results.append(PolicyResult.allow(LAYER, scores=scores))
    if cameo.allowed_themes:
        best, best_theme = -1.0, ""
        for allowed in cameo.allowed_themes:
            theme = _theme_for(allowed)
            keyword, similarity = theme_score(prompt, theme, vector)
            if keyword:
                best, best_theme = 1.0, allowed
                break
            if similarity > best:
                best, best_theme = similarity, allowed
        scores = {f"{cameo.cameo_id}.allowed.best_similarity": best}
        if best < LICENCE_ON_THEME:
            themes = ", ".join(cameo.allowed_themes)
            reason = f"{cameo.label}'s licence covers {themes}; the prompt looks off-theme (best {best:.2f})"
            results.append(PolicyResult("review", LAYER, "licence_off_theme", "licence", (reason,), scores))
        else:
            results.append(PolicyResult.allow(LAYER, scores=scores, reasons=(f"on theme: {best_theme}",)))
    return results


def check_cameo_restrictions(prompt: str, cameos: Sequence[CameoSubject]) -> PolicyResult:
    """Apply every featured cameo's owner restrictions and licence themes to the prompt."""
    relevant = [c for c in cameos if c.restrictions or c.allowed_themes or c.forbidden_themes]
    if not relevant:
        return PolicyResult.allow(LAYER)
    vector = semantic.embed_prompt(prompt)
    results: list[PolicyResult] = []
    for cameo in relevant:
        for code in sorted(cameo.restrictions):
            results.append(_restriction_result(cameo, code, prompt, vector))
        results.extend(_licence_results(cameo, prompt, vector))
    combined = combine(results, layer=LAYER)
    # Keep this layer's own name on the combined result; the per-check parts stay in `layers`.
    return PolicyResult(
        combined.decision,
        LAYER,
        combined.code,
        combined.category,
        combined.reasons,
        {k.removeprefix(f"{LAYER}."): v for k, v in combined.scores.items()},
    )
