"""Claims: one moderator works a case at a time."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from moderation import selectors
from moderation.limits import claim_duration
from moderation.models import Case
from moderation.services.checks import _require_moderator
from sora_social.common.errors import Conflict
from sora_social.users.models import User


def _claim_held_by_other(case: Case, moderator: User) -> bool:
    return (
        case.claimed_by_id is not None
        and case.claimed_by_id != moderator.pk
        and case.claimed_until is not None
        and case.claimed_until > timezone.now()
    )


def _refuse_if_claimed_by_other(case: Case, moderator: User) -> None:
    if _claim_held_by_other(case, moderator):
        until = case.claimed_until.astimezone(UTC).strftime("%H:%M")
        handle = case.claimed_by.handle if case.claimed_by else "another moderator"
        raise Conflict("case_claimed", f"@{handle} is working on this case (claimed until {until} UTC).")


def _claim_clear(case: Case) -> None:
    case.claimed_by = None
    case.claimed_until = None


@transaction.atomic
def case_claim(*, case: Case, moderator: User) -> Case:
    """Claim a waiting case for MODERATION_CLAIM_MINUTES (renewing one's own claim), so no other
    moderator works it meanwhile. Refused (409 case_claimed) while another moderator's claim
    runs; an expired claim is taken over."""
    _require_moderator(moderator)
    case = Case.objects.select_for_update(of=("self",)).select_related("claimed_by").get(pk=case.pk)
    if case.status not in selectors.QUEUE_STATUSES:
        raise Conflict("case_not_waiting", "This case is not waiting for a moderator.")
    _refuse_if_claimed_by_other(case, moderator)
    case.claimed_by = moderator
    case.claimed_until = timezone.now() + claim_duration()
    case.save(update_fields=["claimed_by", "claimed_until"])
    return case


@transaction.atomic
def case_release(*, case: Case, moderator: User) -> Case:
    """Give up one's claim (someone else's claim is left alone)."""
    _require_moderator(moderator)
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if case.claimed_by_id == moderator.pk:
        _claim_clear(case)
        case.save(update_fields=["claimed_by", "claimed_until"])
    return case


@transaction.atomic
def case_claim_next(*, moderator: User, after: Case | None = None, **filters: Any) -> Case | None:
    """Claim the most urgent waiting case nobody else is working on (the queue's filters apply),
    skipping `after`. Rows another moderator is claiming at this very moment are skipped, not
    waited for, so two moderators pressing "next" together get different cases."""
    _require_moderator(moderator)
    now = timezone.now()
    rows = selectors.console_queue(viewer=moderator, **filters).filter(
        Q(claimed_by__isnull=True) | Q(claimed_by=moderator) | Q(claimed_until__lte=now)
    )
    if after is not None:
        rows = rows.exclude(pk=after.pk)
    # A moderator may not decide a case about themselves; do not hand them one.
    rows = rows.exclude(subject_user=moderator)
    for case_id in rows.values_list("pk", flat=True)[:20]:
        locked = (
            Case.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk=case_id, status__in=selectors.QUEUE_STATUSES)
            .filter(Q(claimed_by__isnull=True) | Q(claimed_by=moderator) | Q(claimed_until__lte=now))
            .first()
        )
        if locked is not None:
            locked.claimed_by = moderator
            locked.claimed_until = now + claim_duration()
            locked.save(update_fields=["claimed_by", "claimed_until"])
            return locked
    return None
