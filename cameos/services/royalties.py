"""The royalty ledger: a paid character's licence fee, charged per generation and reversed on refund."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from cameos.models import Cameo, CameoKind, CharacterLicence, RoyaltyEntry, RoyaltyParty
from sora_social.notifications.services import notify
from sora_social.users.models import User


@dataclass(frozen=True)
class RoyaltyCharge:
    """The three ledger lines of one generation featuring one paid character; they sum to zero.

    `creator_amount` (negative) is what generation debits from the creator's credits, in the
    same transaction, once the credits ledger exists.
    """

    job_id: int
    cameo_id: int
    fee: int
    creator_amount: int
    rights_holder_amount: int
    platform_amount: int
    created: bool  # False when this job and cameo were charged before (idempotent replay)


def royalty_quote(*, cameos: Iterable[Cameo]) -> int:
    """Credits a generation featuring these cameos would pay in licence fees (for submit checks)."""
    total = 0
    for cameo in cameos:
        if cameo.kind == CameoKind.CHARACTER:
            licence = CharacterLicence.objects.filter(cameo=cameo).first()
            total += licence.fee_credits if licence else 0
    return total


def _split(fee: int, share_bps: int) -> tuple[int, int]:
    holder = fee * share_bps // 10_000  # the platform keeps the rounding remainder
    return holder, fee - holder


def _charge_from_rows(job_id: int, cameo_id: int, rows: list[RoyaltyEntry], *, created: bool) -> RoyaltyCharge:
    by_party = {r.party: r.amount for r in rows}
    return RoyaltyCharge(
        job_id=job_id,
        cameo_id=cameo_id,
        fee=abs(by_party.get(RoyaltyParty.CREATOR, 0)),
        creator_amount=by_party.get(RoyaltyParty.CREATOR, 0),
        rights_holder_amount=by_party.get(RoyaltyParty.RIGHTS_HOLDER, 0),
        platform_amount=by_party.get(RoyaltyParty.PLATFORM, 0),
        created=created,
    )


@transaction.atomic
def royalty_charge(*, job_id: int, cameo: Cameo, creator: User, video_id: int | None = None) -> RoyaltyCharge | None:
    """Charge a generation's licence fee for a character: creator -fee, rights holder +share,
    platform +rest, in one transaction. Idempotent per (job, cameo): a replay returns the first
    charge. None when nothing is owed (not a character, free, or the holder's own generation)."""
    if cameo.kind != CameoKind.CHARACTER or creator.pk == cameo.owner_id:
        return None
    licence = CharacterLicence.objects.filter(cameo=cameo).first()
    if licence is None or licence.fee_credits == 0:
        return None
    existing = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.CHARGE))
    if existing:
        return _charge_from_rows(job_id, cameo.pk, existing, created=False)
    fee = licence.fee_credits
    holder_amount, platform_amount = _split(fee, licence.rights_holder_share_bps)
    now = timezone.now()
    lines = [
        RoyaltyEntry(party=RoyaltyParty.CREATOR, account=creator, amount=-fee),
        RoyaltyEntry(party=RoyaltyParty.RIGHTS_HOLDER, account_id=cameo.owner_id, amount=holder_amount),
        RoyaltyEntry(party=RoyaltyParty.PLATFORM, account=None, amount=platform_amount),
    ]
    for line in lines:
        line.cameo = cameo
        line.job_id = job_id
        line.video_id = video_id
        line.created_at = now
    try:
        with transaction.atomic():
            RoyaltyEntry.objects.bulk_create(lines)
    except IntegrityError:  # charged concurrently: the unique constraint kept one charge
        rows = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.CHARGE))
        return _charge_from_rows(job_id, cameo.pk, rows, created=False)
    if holder_amount > 0:
        notify(
            recipient=cameo.owner,
            kind="royalty",
            actor=creator,
            data={"cameo_id": cameo.pk, "cameo_name": cameo.display_name, "amount": holder_amount, "job_id": job_id},
            target=("cameo", cameo.pk),
        )
    return _charge_from_rows(job_id, cameo.pk, lines, created=True)


@transaction.atomic
def royalty_reverse(*, job_id: int, cameo: Cameo) -> RoyaltyCharge | None:
    """Refund a charged generation (failed or cancelled after charging): the mirror lines.
    Idempotent; None when there was no charge."""
    charge = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.CHARGE))
    if not charge:
        return None
    existing = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.REVERSAL))
    if existing:
        return _charge_from_rows(job_id, cameo.pk, existing, created=False)
    now = timezone.now()
    lines = [
        RoyaltyEntry(
            party=row.party,
            account_id=row.account_id,
            cameo=cameo,
            entry_type=RoyaltyEntry.EntryType.REVERSAL,
            amount=-row.amount,
            job_id=job_id,
            video_id=row.video_id,
            created_at=now,
        )
        for row in charge
    ]
    try:
        with transaction.atomic():
            RoyaltyEntry.objects.bulk_create(lines)
    except IntegrityError:
        rows = list(RoyaltyEntry.objects.filter(job_id=job_id, cameo=cameo, entry_type=RoyaltyEntry.EntryType.REVERSAL))
        return _charge_from_rows(job_id, cameo.pk, rows, created=False)
    return _charge_from_rows(job_id, cameo.pk, lines, created=True)
