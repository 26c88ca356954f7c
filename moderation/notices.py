"""What people read about moderation decisions: the affected person, the reporters, the
appellant. Plain text builders; the console shows them before a moderator confirms.
"""

from __future__ import annotations

from moderation.constants import APPEALABLE, TARGET_LABELS, ActionKind, TargetType
from moderation.limits import appeal_window, strikes_to_suspend


def appeal_path(action_id: int) -> str:
    return f"/api/v1/moderation/actions/{action_id}/appeal"


_SUBJECT_WORDS = {
    TargetType.POST: "your post",
    TargetType.COMMENT: "your comment",
    TargetType.VIDEO: "your video",
    TargetType.CAMEO: "videos featuring your cameo",
    TargetType.USER: "your account",
}


def decision_message(*, kind: str, target_type: str, reason: str, strikes: int | None = None, until: str = "") -> str:
    """What the person a decision affects reads (the notification's summary). The console shows
    it before the moderator confirms."""
    what = _SUBJECT_WORDS.get(target_type, "your content")
    if kind == ActionKind.REMOVE:
        text = f"We removed {what}: {reason}"
    elif kind == ActionKind.AGE_RESTRICT:
        text = f"{what[0].upper()}{what[1:]} is now shown only to adults: {reason}"
    elif kind == ActionKind.WARN:
        text = f"A warning about {what}: {reason}"
    elif kind == ActionKind.STRIKE:
        text = f"A strike on your account ({strikes} of {strikes_to_suspend()} before a suspension): {reason}"
    elif kind == ActionKind.SUSPEND:
        text = f"Your account is suspended until {until[:16].replace('T', ' ')} UTC: {reason}"
    elif kind == ActionKind.BAN:
        text = f"Your account is banned: {reason}"
    elif kind == ActionKind.RESTORE:
        text = f"We reversed an earlier decision about {what}: {reason}"
    else:
        text = reason
    if kind in APPEALABLE:
        text += f" You can appeal once within {appeal_window().days} days."
    return text


_OUTCOMES = {
    ActionKind.REMOVE: ("removed", "removed it"),
    ActionKind.AGE_RESTRICT: ("age_restricted", "limited it to adults"),
    ActionKind.DISMISS: ("no_violation", "found it does not break our rules"),
}


def report_outcome(kind: str) -> str:
    """The outcome code a resolved report records for a case's first decision."""
    return _OUTCOMES.get(kind, ("action_taken", ""))[0]


def reporter_message(*, kind: str, target_type: str) -> str:
    """What each reporter reads about a case's first decision."""
    phrase = _OUTCOMES.get(kind, ("action_taken", "took action"))[1]
    what = TARGET_LABELS.get(target_type, target_type).lower()
    return f"We reviewed the {what} you reported and {phrase}. Thank you for reporting it."


def appeal_message(*, uphold: bool, reason: str) -> str:
    """What the appellant reads when their appeal is decided."""
    if uphold:
        return f"Your appeal was reviewed by another moderator and the decision stands: {reason}"
    return f"Your appeal was granted and the decision reversed: {reason}"
