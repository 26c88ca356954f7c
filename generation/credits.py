"""Credits: a daily free allowance plus bought credits, in an append-only ledger.

A job reserves its cost at submit (free credits first, then paid; a job an app submitted with
an API key spends the key's daily budget instead, pool `app`), and later either settles
(success) or is refunded (failure, block, cancel), exactly once; `CreditEntry`'s unique
constraint on (job, kind, pool) makes a second charge or refund impossible, and the job's
row lock in generation.jobs decides which of the two happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from generation.models import CreditEntry, CreditEntryKind, CreditPool, GenerationJob
from sora_social.apikeys.models import ApiKey
from sora_social.apikeys.selectors import api_key_quota
from sora_social.common.errors import ApplicationError
from sora_social.users.dates import local_day, next_local_midnight
from sora_social.users.models import User


def next_reset(user: User, at: datetime | None = None) -> datetime:
    """The user's next local midnight, when the free allowance starts again."""
    return next_local_midnight(user, at)


def job_cost(*, seconds: int, royalty_fee: int = 0) -> int:
    return (seconds // 4) * settings.GENERATION_CREDITS_PER_4S + royalty_fee


@dataclass(frozen=True)
class Balance:
    free_allowance: int
    free_used_today: int
    paid: int
    resets_at: datetime

    @property
    def free_remaining(self) -> int:
        return max(0, self.free_allowance - self.free_used_today)

    @property
    def available(self) -> int:
        return self.free_remaining + self.paid


def credit_balance(*, user: User) -> Balance:
    today = local_day(user)
    free_net = (
        CreditEntry.objects.filter(user=user, pool=CreditPool.FREE, local_day=today).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    paid = CreditEntry.objects.filter(user=user, pool=CreditPool.PAID).aggregate(s=Sum("amount"))["s"] or 0
    return Balance(
        free_allowance=settings.GENERATION_DAILY_FREE_CREDITS,
        free_used_today=-free_net,
        paid=paid,
        resets_at=next_reset(user),
    )


@dataclass(frozen=True)
class KeyBudget:
    """An API key's credits for the current UTC day (the plan's or its own `daily_credits`)."""

    daily_credits: int
    used_today: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.daily_credits - self.used_today)


def _utc_day(at: datetime | None = None) -> date:
    return (at or timezone.now()).astimezone(UTC).date()


def key_budget(*, key: ApiKey) -> KeyBudget:
    today = _utc_day()
    net = (
        CreditEntry.objects.filter(api_key=key, pool=CreditPool.APP, local_day=today).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    return KeyBudget(
        daily_credits=api_key_quota(key).daily_credits,
        used_today=-net,
        resets_at=datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC),
    )


def key_usage(*, key: ApiKey) -> dict[str, object]:
    """apikeys' usage port: what a key has spent today and has in flight."""
    from generation.models import IN_FLIGHT_STATUSES

    budget = key_budget(key=key)
    in_flight = GenerationJob.objects.filter(api_key=key, status__in=IN_FLIGHT_STATUSES).count()
    return {
        "credits_used_today": budget.used_today,
        "credits_remaining_today": budget.remaining,
        "jobs_in_flight": in_flight,
        "resets_at": budget.resets_at,
    }


def _reserve_for_key(job: GenerationJob, amount: int) -> None:
    """A job an app submitted with its key: the key's daily budget pays, the person's credits
    are untouched. The key's row lock serialises its reservations (and the in-flight count
    that follows in generation.jobs)."""
    key = ApiKey.objects.select_for_update().get(pk=job.api_key_id)
    budget = key_budget(key=key)
    if budget.remaining < amount:
        wait = max(1, int((budget.resets_at - timezone.now()).total_seconds()))
        raise ApplicationError(
            "insufficient_quota",
            f"This costs {amount} credits; this API key has {budget.remaining} of its {budget.daily_credits} "
            f"left today (UTC). Its budget comes back at {budget.resets_at:%H:%M} UTC.",
            status_code=429,
            extra={"needed": amount, "remaining": budget.remaining, "retry_after_s": wait},
        )
    CreditEntry.objects.create(
        user_id=job.user_id,
        job=job,
        pool=CreditPool.APP,
        api_key=key,
        kind=CreditEntryKind.RESERVE,
        amount=-amount,
        local_day=_utc_day(),
    )


def _lock_user(user: User) -> None:
    # Serialises a user's reservations so two concurrent submits cannot both spend the last credit.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True).get()


@transaction.atomic
def credits_reserve(*, job: GenerationJob, amount: int) -> None:
    """Take `amount` for a job: free credits of today first, then paid. 402 if not enough."""
    if amount <= 0:
        return
    if job.api_key_id is not None:
        _reserve_for_key(job, amount)
        return
    user = job.user
    _lock_user(user)
    balance = credit_balance(user=user)
    if balance.available < amount:
        raise ApplicationError(
            "insufficient_credits",
            f"This costs {amount} credits; you have {balance.free_remaining} free today and {balance.paid} bought. "
            f"Free credits come back at {balance.resets_at:%H:%M} your time.",
            status_code=402,
            extra={"needed": amount, "free_remaining": balance.free_remaining, "paid": balance.paid},
        )
    today = local_day(user)
    from_free = min(amount, balance.free_remaining)
    from_paid = amount - from_free
    for pool, part in ((CreditPool.FREE, from_free), (CreditPool.PAID, from_paid)):
        if part:
            CreditEntry.objects.create(
                user=user, job=job, pool=pool, kind=CreditEntryKind.RESERVE, amount=-part, local_day=today
            )


def _reservations(job: GenerationJob) -> list[CreditEntry]:
    return list(CreditEntry.objects.filter(job=job, kind=CreditEntryKind.RESERVE))


@transaction.atomic
def credits_settle(*, job: GenerationJob) -> int:
    """The job succeeded: the reservation stands. Returns how many settle entries were written."""
    written = 0
    for reservation in _reservations(job):
        try:
            with transaction.atomic():
                CreditEntry.objects.create(
                    user_id=job.user_id,
                    job=job,
                    pool=reservation.pool,
                    api_key_id=reservation.api_key_id,
                    kind=CreditEntryKind.SETTLE,
                    amount=0,
                    local_day=reservation.local_day,
                )
            written += 1
        except IntegrityError:
            continue  # already settled: exactly once
    return written


@transaction.atomic
def credits_refund(*, job: GenerationJob, note: str = "") -> int:
    """The job did not succeed: give the reservation back, to the day and pool it came from."""
    refunded = 0
    for reservation in _reservations(job):
        try:
            with transaction.atomic():
                CreditEntry.objects.create(
                    user_id=job.user_id,
                    job=job,
                    pool=reservation.pool,
                    api_key_id=reservation.api_key_id,
                    kind=CreditEntryKind.REFUND,
                    amount=-reservation.amount,
                    local_day=reservation.local_day,
                    note=note[:200],
                )
            refunded += -reservation.amount
        except IntegrityError:
            continue  # already refunded: exactly once
    return refunded


@transaction.atomic
def credits_purchase(*, user: User, amount: int, receipt_id: str) -> CreditEntry:
    """Record bought credits (e.g. from a payment provider's webhook). Idempotent per receipt."""
    if amount <= 0:
        raise ApplicationError("invalid_amount", "A purchase adds a positive number of credits.")
    if not receipt_id:
        raise ApplicationError("receipt_required", "A purchase needs the payment receipt id.")
    existing = CreditEntry.objects.filter(kind=CreditEntryKind.PURCHASE, reference=receipt_id).first()
    if existing is not None:
        if existing.user_id != user.pk or existing.amount != amount:
            raise ApplicationError(
                "receipt_reused", "That receipt was already used for another purchase.", status_code=409
            )
        return existing
    return CreditEntry.objects.create(
        user=user,
        pool=CreditPool.PAID,
        kind=CreditEntryKind.PURCHASE,
        amount=amount,
        local_day=local_day(user),
        reference=receipt_id,
    )


@transaction.atomic
def credits_grant(*, user: User, amount: int, note: str, granted_by: User) -> CreditEntry:
    """Staff give credits (support, promotions). Shows in the ledger with who and why."""
    if amount <= 0:
        raise ApplicationError("invalid_amount", "A grant adds a positive number of credits.")
    return CreditEntry.objects.create(
        user=user,
        pool=CreditPool.PAID,
        kind=CreditEntryKind.GRANT,
        amount=amount,
        local_day=local_day(user),
        note=f"{note} (by @{granted_by.handle})"[:200],
    )
