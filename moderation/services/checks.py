"""Checks every case-layer write shares: the actor is a moderator, a reason is given."""

from __future__ import annotations

from moderation.limits import REASON_MAX
from moderation.roles import is_moderator
from sora_social.common.errors import ApplicationError, Forbidden
from sora_social.users.models import User


def _require_moderator(user: User) -> None:
    if not is_moderator(user):
        raise Forbidden("not_a_moderator", "Only moderators can do this.")


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError("reason_required", "Give a reason: the person affected reads it.")
    if len(reason) > REASON_MAX:
        raise ApplicationError("reason_too_long", f"A reason is at most {REASON_MAX} characters.")
    return reason
