"""The policy's vocabulary: content categories and cameo restriction codes.

Plain module, no Django. The cameos app validates an owner's restrictions against
`RESTRICTION_CODES`; the console shows `CATEGORIES` labels.
"""

from __future__ import annotations

# Content categories the prompt layers (rules, classifier, remote) decide on. Every one blocks.
CATEGORIES: dict[str, str] = {
    "sexual_minors": "Sexual content involving minors",
    "sexual": "Sexual content or nudity",
    "violence": "Graphic violence or cruelty",
    "self_harm": "Suicide or self-harm",
    "hate": "Hate or dehumanisation of a protected group",
    "terrorism": "Terrorism or violent extremism",
    "drugs": "Illegal drugs: making, selling or using",
    "weapons": "Making illegal weapons or explosives",
}
HARM_CATEGORIES: tuple[str, ...] = tuple(CATEGORIES)

# Categories of the other layers, for the console.
OTHER_CATEGORIES: dict[str, str] = {
    "likeness": "A real person's likeness without their cameo",
    "mature": "Mature content not allowed for minors",
    "cameo_restriction": "Against a cameo owner's restrictions",
    "licence": "Outside a character's licence",
    "banned_media": "Matches media removed by moderation",
}

# What a cameo owner may forbid for videos featuring their cameo (code -> label).
RESTRICTION_CODES: dict[str, str] = {
    "no_political": "No political content",
    "no_romantic": "No romantic or flirtatious content",
    "no_sexual": "No sexual or suggestive content",
    "no_violence": "No violence, fighting or weapons",
    "no_religious": "No religious content",
    "no_alcohol_drugs": "No alcohol, smoking or drugs",
    "no_mockery": "No mockery or humiliation",
    "no_horror": "No horror or gore",
    "no_advertising": "No ads or product endorsements",
}

CAMEO_KINDS: tuple[str, ...] = ("person", "pet", "object", "character")
