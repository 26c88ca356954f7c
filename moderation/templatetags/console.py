"""Template helpers for the console's pages."""

from __future__ import annotations

from django import template

from moderation.console import describe_details
from moderation.models import Action

register = template.Library()


@register.simple_tag
def recent_decisions(user, limit: int = 10) -> list[Action]:
    """The moderator's own latest decisions from the audit log (Django's LogEntry never sees
    them: decisions are actions, not model edits)."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = list(Action.objects.filter(moderator=user).select_related("case").order_by("-created_at", "-pk")[:limit])
    for action in rows:
        action.details_text = describe_details(action.kind, action.details)
    return rows


@register.filter
def details_text(action: Action) -> str:
    return describe_details(action.kind, action.details)
