"""Layer 1 of the prompt pipeline: blocklists and patterns, per category, on normalised text.

Plain module, no Django. The rules aim at high precision: words and phrases that are harmful in
almost any video prompt block; ambiguous ones ("kill him", "torture") only ask for review and
leave the decision to the classifier and a person. Every pattern runs on each spelling from
`normalize.variants()`, so obfuscation ("n.u.d.e", "p0rn", homoglyphs) does not get past it.

Hard negatives are written into the patterns (a "nude lipstick", "paint stripper", "bath bomb",
"suicide doors", "ISIS the goddess"), and the test-suite and the eval check them.

No slurs are shipped in this lexicon (see docs/moderation.md): hate is caught by patterns of
dehumanisation and calls for violence against groups, and by the classifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moderation.policy.normalize import variants
from moderation.policy.result import Decision, PolicyResult

LAYER = "rules"


@dataclass(frozen=True)
class Rule:
    category: str
    severity: Decision  # "block" or "review"
    pattern: re.Pattern[str]
    name: str


def _rx(body: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


# --- shared vocabulary ---------------------------------------------------------------------
_PERSON = (
    r"(?:man|men|woman|women|person|people|child|children|kid|kids|baby|girl|girls|boy|boys|guy|guys|family|"
    r"crowd|hostages?|prisoners?|students?|classmates?|teachers?|cops?|police officers?|victims?|civilians?|"
    r"him|her|them|someone|somebody|neighbou?rs?|wife|husband)"
)
_ANIMAL = r"(?:dogs?|cats?|puppy|puppies|kittens?|animals?|horses?|birds?)"
_DET = r"(?:(?:a|an|the|his|her|their|my|your|some|two|three|innocent|helpless|random|little|young|old) )*"
_REFLEXIVE = r"(?:myself|himself|herself|themselves|yourself|themself)"
_POSSESSIVE = r"(?:my|his|her|their|your)"
_GROUP = (
    r"(?:jews|jewish people|muslims|arabs|black people|blacks|africans|asians|asian people|chinese people|"
    r"mexicans|latinos|hispanics|immigrants|refugees|migrants|gays|gay people|lesbians|trans people|"
    r"transgender people|christians|catholics|hindus|sikhs|gypsies|roma people|disabled people|indians|"
    r"white people|whites|women)"
)
_MINOR = (
    r"(?:child|children|kids?|minors?|underage|under-age|teens?|teenage|teenagers?|schoolgirls?|schoolboys?|"
    r"pre-?teens?|tweens?|toddlers?|infants?|little (?:girl|boy)s?|young (?:girl|boy)s?|daughters?|stepdaughters?|"
    r"sons?|nieces?|nephews?|middle schoolers?|high schoolers?|(?:1[0-7]|[1-9]) ?(?:yo|y/o|years? ?old|-year-old)s?)"
)
# Sexual terms that block on their own, with the usual innocent uses excluded.
_SEXUAL_EXPLICIT = (
    r"(?:porn|porno|pornographic|pornography|nsfw|xxx|x-rated|hentai|nudes|nudity|nudist|topless|bottomless|"
    r"nude(?! (?:colou?r|colou?red|heels?|lipstick|lips?|gloss|palette|tones?|beige|shades?|pumps|makeup|nails?|"
    r"polish|sandals|tights|stockings|bodysuit|eyeshadow|blush))|"
    r"naked(?! (?:eye|flame|cake|mole|truth|ambition|bike|bulb|lightbulb|steel|lunch))|"
    r"sex scenes?|having sex|sex tape|sexual intercourse|intercourse|sexual acts?|sex acts?|erotic|erotica|orgasms?|"
    r"masturbat\w*|genitals?|genitalia|penis|vagina|blowjob|handjob|striptease|onlyfans|"
    r"(?<!paint )(?<!wire )(?<!floor )strippers?|strip(?:s|ped|ping)? naked|"
    r"undress(?:es|ed|ing)?|(?:takes?|taking|took|rips?|ripping|tears?) (?:off )?(?:all )?(?:her|his|"
    r"their) clothes(?: off)?|"
    r"(?:with|wearing) no clothes|without (?:any )?clothes|fully nude|bare (?:breasts|chest woman)|nipples?)"
)
_SEXUAL_SUGGESTIVE = (
    r"(?:sexy|seductive(?:ly)?|sultry|sensual(?:ly)?|lingerie|lap ?dances?|cleavage|provocative(?:ly)?|"
    r"in (?:her|his|their) underwear|twerk\w*|making out|sexual(?:ly)?|sex)"
)

_RULES_SPEC: list[tuple[str, Decision, str, str]] = [
    # --- sexual content involving minors: a minor and a sexual term anywhere in one prompt ---
    (
        "sexual_minors",
        "block",
        r"(?:loli|lolicon|shota|shotacon|jailbait|pedo|pedophil\w*|paedophil\w*|child porn\w*)",
        "minor sexualisation term",
    ),
    ("sexual_minors", "block", rf"{_MINOR}(?:.*)(?<![a-z0-9]){_SEXUAL_EXPLICIT}", "minor + explicit term"),
    ("sexual_minors", "block", rf"{_SEXUAL_EXPLICIT}(?:.*)(?<![a-z0-9]){_MINOR}", "explicit term + minor"),
    ("sexual_minors", "block", rf"{_MINOR}(?:.*)(?<![a-z0-9]){_SEXUAL_SUGGESTIVE}", "minor + suggestive term"),
    ("sexual_minors", "block", rf"{_SEXUAL_SUGGESTIVE}(?:.*)(?<![a-z0-9]){_MINOR}", "suggestive term + minor"),
    # --- sexual ---
    ("sexual", "block", _SEXUAL_EXPLICIT, "explicit sexual term"),
    (
        "sexual",
        "review",
        r"(?:seductive(?:ly)?|sultry|lingerie|lap ?dances?|cleavage|in (?:her|his|their) underwear)",
        "suggestive term",
    ),
    # --- graphic violence ---
    (
        "violence",
        "block",
        r"(?:gore|gory|gruesome|dismember\w*|decapitat\w*|behead\w*|disembowel\w*|mutilat\w*|eviscerat\w*|snuff films?|"
        r"blood (?:spraying|spurting|splatter\w*|gushing|pouring out|everywhere)|(?:bloody|bloodied|"
        r"mangled) (?:corpses?|bodies)|"
        r"(?:severed|chopped off|cut off|ripped off|torn off) (?:heads?|limbs?|arms?|legs?|fingers?|hands?)|"
        r"(?:slit|slits|slitting|cuts?|cutting|slashing) (?:open )?(?:his |her |their |someone's |a man's |"
        r"a woman's )?throats?|"
        r"(?:skinned|burned|burnt|buried) alive|(?:burn|burns|burning) (?:him|her|them|someone|a person|people) alive|"
        rf"(?:tortur(?:e|es|ed|ing)|beat(?:s|ing|en)? to death|stab(?:s|bed|bing)? to death|kick(?:s|ed|"
        rf"ing)? to death) {_DET}(?:{_PERSON}|{_ANIMAL})|"
        rf"{_DET}(?:{_PERSON}|{_ANIMAL}) (?:being |getting )?(?:tortured|beaten to death|stabbed to death|skinned)|"
        rf"(?:animal|dog|cat|puppy|kitten) (?:abuse|cruelty|torture))",
        "graphic violence",
    ),
    (
        "violence",
        "review",
        rf"(?:(?:stab|stabs|stabbed|stabbing|shoot|shoots|shooting|murder|murders|murdered|murdering|kill|kills|"
        rf"killing|"
        rf"strangle|strangles|strangling|strangled|lynch\w*|execute|executes|executing|executed|beat up|beating up|"
        rf"punch(?:es|ing)?|tortur(?:e|es|ed|ing)) {_DET}(?:{_PERSON}|{_ANIMAL})(?! (?:in|at) (?:the )?(?:game|"
        rf"video game))|"
        r"tortur(?:e|es|ed|ing)|massacre\w*|bloodbath|blood-soaked)",
        "violent act against a person or animal",
    ),
    # --- self-harm ---
    (
        "self_harm",
        "block",
        r"(?:suicid(?:e|al)(?! (?:squad|doors?|bomb\w*|vests?|squeeze|sprints?|drills?|runs?|burpees|prevention|"
        r"awareness|hotline|helpline|watch|king|note app))|"
        rf"(?:kill|kills|killing|killed|hang|hangs|hanging|hanged|starve|starves|starving|starved|cut|cuts|cutting|"
        rf"burn|burns|burning) {_REFLEXIVE}|"
        rf"(?:end|ends|ending|take|takes|taking|took) {_POSSESSIVE} (?:own )?life|"
        rf"(?:cutting|cut|cuts|slit|slits|slitting|slash\w*) (?:open )?{_POSSESSIVE} (?:own )?(?:wrists?|forearms?|"
        rf"thighs?|skin)|"
        r"self[- ]?harm\w*|self[- ]?injur\w*|self[- ]?mutilat\w*|pro[- ]?ana|pro[- ]?mia|thinspo\w*|"
        r"(?:jump|jumps|jumping|jumped|leap|leaps|leaping) (?:off|from) (?:a |the )?(?:\w+ )?(?:bridge|building|roof|"
        r"rooftop|cliff|balcony|"
        r"tower|overpass) (?:to (?:die|end it|end (?:my|his|her|their) life|kill))|"
        r"(?:overdos(?:e|es|ed|ing)) (?:on purpose|to die|to end it))",
        "suicide or self-harm",
    ),
    (
        "self_harm",
        "review",
        r"(?:overdos(?:e|es|ed|ing)|noose|razor blades? on (?:a |the )?wrist)",
        "possible self-harm",
    ),
    # --- hate ---
    (
        "hate",
        "block",
        rf"(?:heil hitler|sieg heil|white power|white supremac\w*|race war|ethnic cleansing|gas the \w+|"
        rf"(?:kill|kills|killing|exterminat\w*|eradicat\w*|wipe out|wiping out|get rid of|lynch\w*|hang|hanging|"
        rf"deport all) (?:all )?(?:the )?{_GROUP}|"
        rf"{_GROUP} (?:are|is|as|being|like) (?:(?:nothing but|just|disgusting|filthy|dirty|literal) )*"
        r"(?:vermin|subhuman|sub-human|animals|rats|cockroaches|parasites|a disease|a plague|inferior|scum|filth|"
        r"savages|"
        r"monkeys|apes|pigs|not human|less than human)|"
        rf"death to (?:all )?(?:the )?{_GROUP}|holocaust (?:denial|was fake|never happened|hoax)|"
        rf"celebrat\w* (?:the )?holocaust|"
        r"\bkkk\b|ku klux klan|burning (?:a )?cross(?:es)? (?:on|in front of)|neo-?nazis? (?:rally|march|recruit\w*|"
        r"propaganda)|"
        r"nazi propaganda|swastikas? (?:spray[- ]?)?painted on (?:a |the )?(?:synagogue|mosque|church|temple|house))",
        "hate or dehumanisation",
    ),
    ("hate", "review", r"(?:swastikas?|neo-?nazis?|confederate flag rally)", "hate symbol"),
    # --- terrorism ---
    (
        "terrorism",
        "block",
        r"(?:isis (?:fighters?|flags?|propaganda|recruit\w*|executions?|soldiers?|militants?|beheading\w*|attacks?|"
        r"bombers?)|"
        r"islamic state|al[- ]?qa[e']?ida|boko haram|al[- ]?shabaab|jihadi\w*|jihadist\w*|"
        r"suicide (?:bomb|bombs|bomber|bombers|bombing|bombings|vests?)|(?:car|truck) bombs?|"
        r"(?:bomb|bombs|bombing|blow up|blows up|blowing up|blew up|attack|attacks|attacking|shoot up|shooting up) "
        r"(?:a |an |the |crowded |packed )*(?:school|mosque|church|synagogue|temple|subway|train station|airport|"
        r"stadium|"
        r"concert|market|crowd|embassy|mall|parliament|government building|kindergarten|nightclub)s?|"
        r"(?:school|mass|church|mosque|synagogue|concert|nightclub) shootings?|"
        r"(?:plant|plants|planting|planted|detonat\w*|set off|sets off|setting off) (?:a |an |the )?(?:bomb|"
        r"explosives?|ied)|"
        r"(?:terrorist|terror) (?:attacks?|bombings?|propaganda|recruitment|training camps?|cell planning)|"
        r"hijack(?:s|ed|ing)? (?:a |an |the )?(?:plane|airliner|flight|jet)|martyrdom operation|lone wolf attack|"
        r"(?:ram|rams|ramming|drive|drives|driving|plow|plows|plowing) (?:a |the )?(?:truck|car|van|"
        r"vehicle) into (?:a |the )?crowd|"
        r"celebrat\w* (?:the )?9/?11 attacks?)",
        "terrorism or violent extremism",
    ),
    # --- illegal drugs ---
    (
        "drugs",
        "block",
        r"(?:(?:cook|cooks|cooking|cooked|make|makes|making|synthesi[sz]e|synthesi[sz]ing|produce|producing|"
        r"manufactur\w*|"
        r"brew|brewing) (?:\w+ ){0,2}(?:meth|methamphetamine|crystal meth|fentanyl|heroin|cocaine|mdma|lsd|ecstasy|"
        r"ghb|pcp|"
        r"crack cocaine|crack rocks?)|"
        r"snort(?:s|ed|ing)? (?:a |some |lines? of |a line of )?(?:coke|cocaine|heroin|ketamine|meth|drugs|powder|"
        r"lines?|"
        r"blow|pills)|"
        r"(?:inject|injects|injecting|shoot up|shoots up|shooting up) (?:\w+ ){0,2}(?:heroin|meth|drugs|smack|"
        r"fentanyl)|"
        r"(?:sell|sells|selling|deal|deals|dealing|push|pushing) (?:\w+ ){0,2}(?:meth|heroin|fentanyl|cocaine|crack|"
        r"mdma|"
        r"ecstasy|pills|drugs) (?:to|at|outside|near|on the street)|"
        r"meth lab|crack (?:pipe|cocaine|rocks?|house|heads?)|lines of (?:coke|cocaine)|"
        r"smok(?:e|es|ing) (?:crack|meth|heroin)|drug (?:cartel|mule|deal|deals|dealing) (?:tutorial|how to|"
        r"step by step))",
        "making, selling or using illegal drugs",
    ),
    ("drugs", "review", r"(?:cocaine|heroin|fentanyl|methamphetamine|crystal meth|drug dealers?)", "hard drug mention"),
    # --- weapons and explosives ---
    (
        "weapons",
        "block",
        r"(?:(?:pipe|nail|fertili[sz]er|homemade|home-made|diy|improvised|dirty|pressure cooker) bombs?|ieds?|"
        r"(?:make|makes|making|build|builds|building|assembl\w*|construct\w*|mix|mixes|mixing|craft|crafting|"
        r"how to make) "
        r"(?:\w+ ){0,3}(?:(?<!bath )bombs?(?! (?:shelter|cyclone|pop|squad|disposal))|explosives|explosive (?:device|"
        r"charge|vest)s?|"
        r"detonators?|napalm|molotovs?|molotov cocktails?|silencers?|suppressors?|ghost guns?|machine guns?|nerve gas|"
        r"nerve agents?|sarin|ricin|anthrax|grenades?|thermite charge)|"
        r"3d[- ]?print(?:s|ed|ing)? (?:a |an |my own )?(?:gun|guns|pistol|rifle|firearm|weapon|receiver|"
        r"lower receiver)s?|"
        r"ghost guns?|untraceable (?:gun|firearm|weapon|pistol|rifle)s?|auto sear|bump stock conversion|"
        r"convert\w* (?:\w+ ){0,3}(?:to|into) (?:full[- ]?auto|fully automatic|a machine gun)|"
        r"(?:chemical|biological) weapons? (?:recipe|tutorial|at home|in a kitchen))",
        "making weapons or explosives",
    ),
    ("weapons", "review", r"(?:molotovs?|molotov cocktails?|explosives)", "weapon mention"),
]

RULES: tuple[Rule, ...] = tuple(
    Rule(category, severity, _rx(body), name) for category, severity, body, name in _RULES_SPEC
)

# Allowed for adults, refused when the person generating is a minor.
MATURE_RULE = Rule(
    "mature",
    "block",
    _rx(
        r"(?:beers?|wine|vodka|whiske?y|tequila|rum|cocktails?|martinis?|bloody mary|margaritas?|champagne|drunk|booze|"
        r"shots of|keg stand|hangover|cigarettes?|cigars?|vap(?:e|es|ing)|smoking|weed|marijuana|cannabis|bongs?|"
        r"casino|gambling|poker|slot machines?|betting|blackjack|sexy|lingerie|twerk\w*|seductive\w*|strip club|"
        r"making out|(?<!water )(?<!nerf )(?<!glue )(?<!toy )(?<!squirt )(?<!spray )guns?|rifles?|pistols?|shotguns?|"
        r"firearms?|snipers?|bloody|gory|horror|zombie gore)"
    ),
    "mature content",
)
# Refused whenever a featured cameo belongs to a minor.
MINOR_CAMEO_RULE = Rule(
    "sexual_minors",
    "block",
    _rx(
        r"(?:sexy|seductive\w*|sultry|sensual\w*|lingerie|underwear|bikini|swimsuit|kiss\w*|making out|romantic|"
        r"romance|"
        r"date night|on a date|flirt\w*|cuddl\w*|in bed|bedroom|twerk\w*|strip\w*|shirtless|hot tub)"
    ),
    "suggestive or romantic content with a minor's cameo",
)


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    matched: str


def find_hits(prompt: str, rules: tuple[Rule, ...] = RULES) -> list[RuleHit]:
    """Every rule that matches any spelling of the prompt, with the text it matched."""
    spellings = variants(prompt)
    hits: list[RuleHit] = []
    for rule in rules:
        for text in spellings:
            match = rule.pattern.search(text)
            if match:
                hits.append(RuleHit(rule, match.group(0)[:80]))
                break
    return hits


def check_rules(prompt: str, *, viewer_is_minor: bool = False, minor_featured: bool = False) -> PolicyResult:
    """Blocklists and patterns. Block if a blocking rule matches, review if only a reviewing one does."""
    rules = RULES
    if viewer_is_minor:
        rules = (*rules, MATURE_RULE)
    if minor_featured:
        rules = (*rules, MINOR_CAMEO_RULE)
    hits = find_hits(prompt, rules)
    blocking = [h for h in hits if h.rule.severity == "block"]
    reviewing = [h for h in hits if h.rule.severity == "review"]
    scores = {"block_hits": float(len(blocking)), "review_hits": float(len(reviewing))}
    chosen = blocking or reviewing
    if not chosen:
        return PolicyResult.allow(LAYER, scores=scores)
    first = chosen[0]
    code = {
        "mature": "mature_for_minor",
    }.get(first.rule.category, "blocklist" if first.rule.severity == "block" else "pattern_review")
    if first.rule is MINOR_CAMEO_RULE:
        code = "minor_cameo"
    reasons = tuple(f"{h.rule.category}: {h.rule.name} ({h.matched!r})" for h in chosen)
    decision: Decision = "block" if blocking else "review"
    return PolicyResult(decision, LAYER, code, first.rule.category, reasons, scores)
