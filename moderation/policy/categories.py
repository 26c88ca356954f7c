"""The policy's vocabulary: content categories and cameo restriction codes.

No models and no settings. The restriction codes are the cameos app's own
(`cameos.constants`, which stores them on a cameo); the policy enforces them and the console
shows `CATEGORIES` labels.
"""

from __future__ import annotations

from cameos import constants as cameo_constants

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

# What a cameo owner may forbid for videos featuring their cameo (code -> label). Declared by
# cameos, which stores them on the cameo; moderation enforces them.
RESTRICTION_CODES: dict[str, str] = cameo_constants.RESTRICTION_CODES

CAMEO_KINDS: tuple[str, ...] = ("person", "pet", "object", "character")
