"""A case's place in the queue. Plain Python; docs/moderation.md states the same formula.

    priority  = TOP (1000) if someone reported "this is me without my consent", else 0
              + round(severity × min(1 + ½·log2(distinct reporters), 5))
    queue key = priority + min(hours waiting, 24)        (computed by the queue query)

Severity is the worst reason given (moderation.constants.SEVERITY, 10 for spam up to 100);
more reporters multiply it (2 reporters ×1.5, 4 ×2, 16 ×3, capped at ×5), so many reports of
spam never outrank one report of child abuse by much, while a pile-up on anything serious
rises fast. Age adds a point an hour for a day, so nothing waits forever behind fresh cases.
The TOP tier sits above the highest score anything else can reach (90 × 5 + 24 = 474), so a
person's likeness used without consent is always looked at first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from moderation.constants import SEVERITY, Reason

TOP = 1000
MAX_MULTIPLIER = 5.0
AGE_BONUS_MAX_HOURS = 24


def reporter_multiplier(distinct_reporters: int) -> float:
    n = max(1, distinct_reporters)
    return min(1.0 + 0.5 * math.log2(n), MAX_MULTIPLIER)


def severity_of(reasons: Iterable[str], *, machine_severity: int = 0) -> int:
    values = [SEVERITY.get(reason, SEVERITY[Reason.OTHER]) for reason in reasons]
    return max([*values, machine_severity, 0])


def case_priority(*, reasons: Iterable[str], distinct_reporters: int, machine_severity: int = 0) -> int:
    """The stored part of a case's priority (the age bonus is added when the queue is read)."""
    reasons = list(reasons)
    severity = severity_of(reasons, machine_severity=machine_severity)
    tier = TOP if Reason.NOT_ME_WITHOUT_CONSENT in reasons else 0
    return tier + round(severity * reporter_multiplier(distinct_reporters))


def top_reason(reasons: Iterable[str]) -> str:
    """The most severe reason given (the first such, on ties), for filters and the queue."""
    best = ""
    for reason in reasons:
        if not best or SEVERITY.get(reason, 0) > SEVERITY.get(best, 0):
            best = reason
    return best


def age_bonus(hours_waiting: float) -> int:
    return int(min(max(hours_waiting, 0.0), AGE_BONUS_MAX_HOURS))


# Service level: how long a case may wait for its first look, by its stored priority (first
# tier that the priority reaches). A likeness used without consent is looked at within the hour;
# child safety and self-harm (severity 70+) within 4 hours; violence, hate, sexual content and
# harassment (50+) within 12; everything else within a day. An appeal is answered within a day
# of being made.
SLA_HOURS: tuple[tuple[int, int], ...] = ((TOP, 1), (70, 4), (50, 12), (0, 24))
APPEAL_SLA_HOURS = 24


def sla_hours(priority: int, *, appealed: bool = False) -> int:
    if appealed:
        return APPEAL_SLA_HOURS
    for floor, hours in SLA_HOURS:
        if priority >= floor:
            return hours
    return SLA_HOURS[-1][1]
