"""The calendar rules about a person, each defined once: their age and whether they are a minor
(from the date of birth), and their local day (from their time zone).

Every app that asks goes through these: `User.age` / `User.is_minor`, sign-up's age check, the
cameo rules for a minor's cameo (in Python and as a queryset filter), the feed's
age-restricted posts (as SQL), the daily free credits and a minor's daily feed limit.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def age_on(date_of_birth: date, today: date | None = None) -> int:
    """Whole years since `date_of_birth` (born on 29 February: a year older on 1 March)."""
    today = today or date.today()
    return today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))


def is_minor_born(date_of_birth: date | None, today: date | None = None) -> bool:
    """Under `MINOR_AGE_YEARS`. An unknown date of birth counts as a minor: safer defaults until
    the person says otherwise."""
    return date_of_birth is None or age_on(date_of_birth, today) < settings.MINOR_AGE_YEARS


def adult_born_by(today: date | None = None) -> date:
    """The latest date of birth of an adult today: born on or before it, not a minor."""
    today = today or date.today()
    years = settings.MINOR_AGE_YEARS
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def adult_sql(date_of_birth_column: str) -> str:
    """The same rule as SQL about a date-of-birth column, for hand-written statements: true for an
    adult, false for a minor or an unknown date of birth (PostgreSQL's date minus an interval of
    years also turns 29 February into the 28th, as `adult_born_by` does)."""
    column = date_of_birth_column
    return f"{column} IS NOT NULL AND {column} <= CURRENT_DATE - INTERVAL '{int(settings.MINOR_AGE_YEARS)} years'"


def user_zone(user) -> zoneinfo.ZoneInfo:
    """The person's time zone; an unknown or empty name counts as UTC rather than failing."""
    try:
        return zoneinfo.ZoneInfo(user.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_day(user, at: datetime | None = None) -> date:
    """The person's calendar day at `at` (now by default), in their time zone."""
    return (at or timezone.now()).astimezone(user_zone(user)).date()


def next_local_midnight(user, at: datetime | None = None) -> datetime:
    """The start of the person's next local day, when what is counted per day starts again."""
    return datetime.combine(local_day(user, at) + timedelta(days=1), time.min, tzinfo=user_zone(user))
