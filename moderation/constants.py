"""The vocabulary of the case layer: what can be reported, why, and what a moderator can do.

Plain Python (no Django), shared by the models, the services, the API and the console.
"""

from __future__ import annotations

from enum import StrEnum


class TargetType(StrEnum):
    POST = "post"
    COMMENT = "comment"
    USER = "user"
    VIDEO = "video"
    # A cameo itself is misused: someone else's likeness registered as theirs, or used against
    # its owner's instructions. Reported by the cameo's id.
    CAMEO = "cameo"


TARGET_LABELS: dict[str, str] = {
    TargetType.POST: "Post",
    TargetType.COMMENT: "Comment",
    TargetType.USER: "Account",
    TargetType.VIDEO: "Video",
    TargetType.CAMEO: "Cameo misuse",
}


class Reason(StrEnum):
    NOT_ME_WITHOUT_CONSENT = "not_me_without_consent"
    CHILD_SAFETY = "child_safety"
    SELF_HARM = "self_harm"
    VIOLENCE = "violence"
    HATE = "hate"
    SEXUAL = "sexual"
    HARASSMENT = "harassment"
    CAMEO_MISUSE = "cameo_misuse"
    IMPERSONATION = "impersonation"
    DANGEROUS = "dangerous"
    MISINFORMATION = "misinformation"
    COPYRIGHT = "copyright"
    SPAM = "spam"
    OTHER = "other"
    # Never chosen by a person: a policy layer asked for a review of a generated video.
    MACHINE_FLAG = "machine_flag"


REASON_LABELS: dict[str, str] = {
    Reason.NOT_ME_WITHOUT_CONSENT: "This is me, without my consent",
    Reason.CHILD_SAFETY: "Child safety",
    Reason.SELF_HARM: "Suicide or self-harm",
    Reason.VIOLENCE: "Violence or terrorism",
    Reason.HATE: "Hate",
    Reason.SEXUAL: "Sexual content or nudity",
    Reason.HARASSMENT: "Bullying or harassment",
    Reason.CAMEO_MISUSE: "Cameo used against its owner's wishes",
    Reason.IMPERSONATION: "Impersonation",
    Reason.DANGEROUS: "Drugs, weapons or dangerous acts",
    Reason.MISINFORMATION: "Misinformation",
    Reason.COPYRIGHT: "Copyright",
    Reason.SPAM: "Spam or scam",
    Reason.OTHER: "Something else",
    Reason.MACHINE_FLAG: "Flagged by a policy check",
}

# How bad each reason is, if true: the base of a case's priority (moderation/priority.py).
SEVERITY: dict[str, int] = {
    Reason.NOT_ME_WITHOUT_CONSENT: 100,
    Reason.CHILD_SAFETY: 90,
    Reason.SELF_HARM: 70,
    Reason.VIOLENCE: 60,
    Reason.HATE: 60,
    Reason.SEXUAL: 50,
    Reason.HARASSMENT: 50,
    Reason.CAMEO_MISUSE: 50,
    Reason.IMPERSONATION: 40,
    Reason.DANGEROUS: 40,
    Reason.MISINFORMATION: 30,
    Reason.COPYRIGHT: 30,
    Reason.SPAM: 10,
    Reason.OTHER: 10,
    Reason.MACHINE_FLAG: 40,
}

# A machine flag's severity follows the policy category that asked for the review.
CATEGORY_SEVERITY: dict[str, int] = {
    "sexual_minors": SEVERITY[Reason.CHILD_SAFETY],
    "self_harm": SEVERITY[Reason.SELF_HARM],
    "violence": SEVERITY[Reason.VIOLENCE],
    "terrorism": SEVERITY[Reason.VIOLENCE],
    "hate": SEVERITY[Reason.HATE],
    "sexual": SEVERITY[Reason.SEXUAL],
    "likeness": SEVERITY[Reason.CAMEO_MISUSE],
    "cameo_restriction": SEVERITY[Reason.CAMEO_MISUSE],
    "licence": SEVERITY[Reason.COPYRIGHT],
    "banned_media": SEVERITY[Reason.SEXUAL],
    "drugs": SEVERITY[Reason.DANGEROUS],
    "weapons": SEVERITY[Reason.DANGEROUS],
    "mature": SEVERITY[Reason.MISINFORMATION],
}

# Reasons a person may give, per target type. "This is me without my consent" is about a
# likeness, so it applies to what can show one (posts, videos, cameos).
USER_REASONS: tuple[str, ...] = tuple(r.value for r in Reason if r != Reason.MACHINE_FLAG)
LIKENESS_TARGETS = (TargetType.POST, TargetType.VIDEO, TargetType.CAMEO)


def reasons_for(target_type: str) -> tuple[str, ...]:
    if target_type in LIKENESS_TARGETS:
        return USER_REASONS
    return tuple(r for r in USER_REASONS if r != Reason.NOT_ME_WITHOUT_CONSENT)


class ActionKind(StrEnum):
    REMOVE = "remove"
    RESTORE = "restore"
    AGE_RESTRICT = "age_restrict"
    WARN = "warn"
    STRIKE = "strike"
    SUSPEND = "suspend"
    BAN = "ban"
    DISMISS = "dismiss"


ACTION_LABELS: dict[str, str] = {
    ActionKind.REMOVE: "Remove",
    ActionKind.RESTORE: "Restore",
    ActionKind.AGE_RESTRICT: "Age-restrict",
    ActionKind.WARN: "Warn",
    ActionKind.STRIKE: "Strike",
    ActionKind.SUSPEND: "Suspend",
    ActionKind.BAN: "Ban",
    ActionKind.DISMISS: "Dismiss",
}

_ACCOUNT = (ActionKind.WARN, ActionKind.STRIKE, ActionKind.SUSPEND, ActionKind.BAN, ActionKind.DISMISS)
ACTIONS_FOR_TARGET: dict[str, tuple[str, ...]] = {
    TargetType.POST: (ActionKind.REMOVE, ActionKind.RESTORE, ActionKind.AGE_RESTRICT, *_ACCOUNT),
    TargetType.VIDEO: (ActionKind.REMOVE, ActionKind.RESTORE, ActionKind.AGE_RESTRICT, *_ACCOUNT),
    TargetType.COMMENT: (ActionKind.REMOVE, ActionKind.RESTORE, *_ACCOUNT),
    TargetType.CAMEO: (ActionKind.REMOVE, ActionKind.RESTORE, *_ACCOUNT),
    TargetType.USER: (ActionKind.RESTORE, *_ACCOUNT),
}

# Actions that go against someone, so they are told and may appeal (once).
APPEALABLE = (
    ActionKind.REMOVE,
    ActionKind.AGE_RESTRICT,
    ActionKind.WARN,
    ActionKind.STRIKE,
    ActionKind.SUSPEND,
    ActionKind.BAN,
)

# (value, label) choices for the models and the API (settings.SPECTACULAR_SETTINGS names them).
TARGET_CHOICES: list[tuple[str, str]] = [(t.value, TARGET_LABELS[t]) for t in TargetType]
REASON_CHOICES: list[tuple[str, str]] = [(r.value, REASON_LABELS[r]) for r in Reason]
USER_REASON_CHOICES: list[tuple[str, str]] = [(r, REASON_LABELS[r]) for r in USER_REASONS]
ACTION_CHOICES: list[tuple[str, str]] = [(k.value, ACTION_LABELS[k]) for k in ActionKind]
