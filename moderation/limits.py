"""How long and how many, for the case layer: read from django.conf.settings at call time (all
optional, with these defaults):
    MODERATION_STRIKES_TO_SUSPEND      3    strikes within the window → automatic suspension
    MODERATION_STRIKE_WINDOW_DAYS      90   how long a strike counts
    MODERATION_STRIKE_SUSPENSION_DAYS  7    length of the automatic suspension
    MODERATION_SUSPENSION_DAYS         7    default length of a moderator's suspension
    MODERATION_APPEAL_WINDOW_DAYS      30   how long an action can be appealed
    MODERATION_CLAIM_MINUTES           15   how long a moderator's claim on a case lasts
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

REPORT_TEXT_MAX = 1000
APPEAL_TEXT_MAX = 2000
REASON_MAX = 1000


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def strikes_to_suspend() -> int:
    return _setting("MODERATION_STRIKES_TO_SUSPEND", 3)


def strike_window() -> timedelta:
    return timedelta(days=_setting("MODERATION_STRIKE_WINDOW_DAYS", 90))


def strike_suspension_days() -> int:
    return _setting("MODERATION_STRIKE_SUSPENSION_DAYS", 7)


def appeal_window() -> timedelta:
    return timedelta(days=_setting("MODERATION_APPEAL_WINDOW_DAYS", 30))


def suspension_days_default() -> int:
    return _setting("MODERATION_SUSPENSION_DAYS", 7)


def claim_duration() -> timedelta:
    return timedelta(minutes=_setting("MODERATION_CLAIM_MINUTES", 15))
