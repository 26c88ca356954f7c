"""Reason presets: the decisions moderators take most, each tied to a category and a rule of the
policy, with the message the affected person reads. Plain data (no Django): the console lists
them, `services.action_take(preset=...)` turns one into the reason, and a test keeps every
category and rule pointing at the policy's vocabulary.

A moderator's free text is added after the preset's message; it never replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from moderation.constants import ACTIONS_FOR_TARGET, Reason
from moderation.policy.categories import CATEGORIES, OTHER_CATEGORIES, RESTRICTION_CODES

# What reports and decisions are about: the policy's own categories (the checks decide on
# these), plus the community rules no machine layer checks (people report them).
COMMUNITY_CATEGORIES: dict[str, str] = {
    "harassment": "Bullying or harassment",
    "impersonation": "Impersonation",
    "misinformation": "Misinformation",
    "copyright": "Copyright",
    "spam": "Spam or scams",
    "other": "Something else",
}
CASE_CATEGORIES: dict[str, str] = {**CATEGORIES, **OTHER_CATEGORIES, **COMMUNITY_CATEGORIES}

# The categories a report reason is about (a report of "violence or terrorism" is either).
REASON_CATEGORIES: dict[str, tuple[str, ...]] = {
    Reason.NOT_ME_WITHOUT_CONSENT: ("likeness",),
    Reason.CHILD_SAFETY: ("sexual_minors",),
    Reason.SELF_HARM: ("self_harm",),
    Reason.VIOLENCE: ("violence", "terrorism"),
    Reason.HATE: ("hate",),
    Reason.SEXUAL: ("sexual",),
    Reason.HARASSMENT: ("harassment",),
    Reason.CAMEO_MISUSE: ("cameo_restriction", "likeness"),
    Reason.IMPERSONATION: ("impersonation",),
    Reason.DANGEROUS: ("drugs", "weapons"),
    Reason.MISINFORMATION: ("misinformation",),
    Reason.COPYRIGHT: ("copyright", "licence"),
    Reason.SPAM: ("spam",),
    Reason.OTHER: ("other",),
}

# Complaints about someone's likeness: the queue can put these first.
LIKENESS_CATEGORIES = ("likeness", "cameo_restriction", "impersonation")
LIKENESS_REASONS = tuple(r for r, cats in REASON_CATEGORIES.items() if set(cats) & set(LIKENESS_CATEGORIES))


def reasons_of_category(category: str) -> tuple[str, ...]:
    return tuple(reason for reason, cats in REASON_CATEGORIES.items() if category in cats)


@dataclass(frozen=True)
class ReasonPreset:
    code: str  # stable id, stored in the action's details
    label: str  # what the moderator picks
    kind: str  # the action it takes (ActionKind)
    category: str  # a CASE_CATEGORIES key ("none" only for dismissals and restores)
    rule: str  # the rule of that category it applies, as the policy states it
    message: str  # what the person affected reads (the action's reason)

    def applies_to(self, target_type: str) -> bool:
        return self.kind in ACTIONS_FOR_TARGET.get(target_type, ())


P = ReasonPreset
PRESETS: tuple[ReasonPreset, ...] = (
    P(
        "likeness.remove",
        "Someone's likeness without consent",
        "remove",
        "likeness",
        "A real person appears only through their own cameo, with their consent.",
        "It shows a real person's likeness without their consent. People appear in videos here only "
        "through their own cameo, and only as they allow.",
    ),
    P(
        "cameo_restriction.remove",
        "Against the cameo owner's restrictions",
        "remove",
        "cameo_restriction",
        "A cameo is used only as its owner allows: " + ", ".join(RESTRICTION_CODES.values()) + ".",
        "It uses someone's cameo in a way its owner does not allow.",
    ),
    P(
        "licence.remove",
        "Character outside its licence",
        "remove",
        "licence",
        "A character cameo is used only within its licence.",
        "It uses a character outside the terms its rights holder set.",
    ),
    P(
        "sexual_minors.remove",
        "Sexualises minors",
        "remove",
        "sexual_minors",
        CATEGORIES["sexual_minors"] + " is never allowed.",
        "Content that sexualises minors is never allowed.",
    ),
    P(
        "sexual.remove",
        "Nudity or sexual content",
        "remove",
        "sexual",
        CATEGORIES["sexual"] + " is not allowed.",
        "Nudity and sexual content are not allowed here.",
    ),
    P(
        "mature.age_restrict",
        "Suggestive or mature: adults only",
        "age_restrict",
        "mature",
        OTHER_CATEGORIES["mature"] + " is shown to adults only.",
        "It is suggestive or mature (alcohol, smoking, gambling or guns), so only adults will see it.",
    ),
    P(
        "violence.remove",
        "Graphic violence",
        "remove",
        "violence",
        CATEGORIES["violence"] + " is not allowed, even when generated.",
        "Graphic violence and cruelty are not allowed, even in generated videos.",
    ),
    P(
        "violence.age_restrict",
        "Non-graphic violence: adults only",
        "age_restrict",
        "violence",
        "Violence that is not graphic (action, fantasy fights) is shown to adults only.",
        "It shows violence that is not graphic, so only adults will see it.",
    ),
    P(
        "terrorism.remove",
        "Terrorism or violent extremism",
        "remove",
        "terrorism",
        CATEGORIES["terrorism"] + " is not allowed.",
        "Content that promotes terrorism or violent extremism is not allowed.",
    ),
    P(
        "self_harm.remove",
        "Suicide or self-harm",
        "remove",
        "self_harm",
        CATEGORIES["self_harm"] + " is not shown or encouraged.",
        "Content that shows or encourages suicide or self-harm is not allowed. If you are struggling, "
        "please reach out to a crisis line or someone you trust.",
    ),
    P(
        "hate.remove",
        "Hate or dehumanisation",
        "remove",
        "hate",
        CATEGORIES["hate"] + " is not allowed.",
        "Content that attacks or dehumanises people for who they are is not allowed.",
    ),
    P(
        "hate.strike",
        "Hate: strike",
        "strike",
        "hate",
        "Repeated hate costs a strike.",
        "Attacking people for who they are is not allowed.",
    ),
    P(
        "drugs.remove",
        "Illegal drugs",
        "remove",
        "drugs",
        CATEGORIES["drugs"] + " is not allowed.",
        "Content about making, selling or using illegal drugs is not allowed.",
    ),
    P(
        "weapons.remove",
        "Illegal weapons or explosives",
        "remove",
        "weapons",
        CATEGORIES["weapons"] + " is not allowed.",
        "Instructions for making illegal weapons or explosives are not allowed.",
    ),
    P(
        "banned_media.remove",
        "Copy of removed media",
        "remove",
        "banned_media",
        OTHER_CATEGORIES["banned_media"] + " is not allowed back.",
        "It is a copy of media we removed before.",
    ),
    P(
        "harassment.remove",
        "Bullying or harassment",
        "remove",
        "harassment",
        "Bullying, threatening or mocking a real person is not allowed.",
        "Bullying or harassing people is not allowed.",
    ),
    P(
        "harassment.warn",
        "Borderline harassment: warn",
        "warn",
        "harassment",
        "Borderline mockery gets a warning first.",
        "This comes close to harassing someone. Please keep it kind.",
    ),
    P(
        "impersonation.remove",
        "Impersonation",
        "remove",
        "impersonation",
        "Pretending to be another person or brand is not allowed.",
        "It pretends to be someone else.",
    ),
    P(
        "impersonation.suspend",
        "Impersonating account: suspend",
        "suspend",
        "impersonation",
        "An account that impersonates someone is suspended.",
        "This account pretends to be someone else.",
    ),
    P(
        "misinformation.remove",
        "Harmful misinformation",
        "remove",
        "misinformation",
        "Realistic fakes of real events that can cause harm are not allowed.",
        "It presents a made-up event as real in a way that can cause harm.",
    ),
    P(
        "copyright.remove",
        "Copyright",
        "remove",
        "copyright",
        "Other people's copyrighted work is used only with their permission.",
        "It uses someone else's copyrighted work without permission.",
    ),
    P(
        "spam.remove",
        "Spam or scam",
        "remove",
        "spam",
        "Spam, scams and fake engagement are not allowed.",
        "Spam and scams are not allowed.",
    ),
    P(
        "spam.ban",
        "Spam account: ban",
        "ban",
        "spam",
        "Accounts that exist to spam or scam are banned.",
        "This account exists to spam or scam people.",
    ),
    P(
        "none.dismiss",
        "No violation",
        "dismiss",
        "none",
        "Nothing here breaks the policy.",
        "We reviewed it and it does not break our rules.",
    ),
    P(
        "none.restore",
        "Our mistake: restore",
        "restore",
        "none",
        "A decision found wrong is undone.",
        "We looked again and our earlier decision was a mistake.",
    ),
)
del P

PRESETS_BY_CODE: dict[str, ReasonPreset] = {preset.code: preset for preset in PRESETS}


def preset_get(code: str) -> ReasonPreset | None:
    return PRESETS_BY_CODE.get(code)


def presets_for_case(*, target_type: str, categories: tuple[str, ...] | list[str] = ()) -> list[ReasonPreset]:
    """The presets that fit a case: those of its categories first (in their order), then the rest,
    in the order above. The console numbers the first nine 1–9."""
    fitting = [p for p in PRESETS if p.applies_to(target_type)]
    rank = {category: i for i, category in enumerate(categories)}
    return sorted(fitting, key=lambda p: (rank.get(p.category, len(rank)), PRESETS.index(p)))


def compose_reason(*, preset: ReasonPreset, extra: str = "") -> str:
    """The preset's message, then the moderator's own words (if any)."""
    extra = " ".join((extra or "").split())
    return f"{preset.message} {extra}" if extra else preset.message


# What the appellant reads when a second moderator decides their appeal (the form starts with it;
# the moderator may change or add to it).
APPEAL_PRESETS: dict[str, str] = {
    "upheld": "A second moderator looked at it again and the decision follows our rules.",
    "overturned": "A second moderator looked at it again and found the decision was wrong.",
}
