"""The royalty ledger: three lines per charge that balance to zero, idempotent, derived balances."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from cameos import services
from cameos.models import RoyaltyEntry, RoyaltyParty
from cameos.selectors import royalty_balance
from sora_social.notifications.models import Notification
from tests.cameos.factories import CameoFactory, CharacterFactory
from tests.users.factories import UserFactory


def ledger_sum(**filters) -> int:
    return RoyaltyEntry.objects.filter(**filters).aggregate(s=Sum("amount"))["s"] or 0


@pytest.mark.django_db
def test_a_charge_writes_three_lines_that_balance_to_zero():
    character = CharacterFactory(licence__fee_credits=25, licence__rights_holder_share_bps=7000)
    creator = UserFactory()

    charge = services.royalty_charge(job_id=1, cameo=character, creator=creator, video_id=90)

    assert (charge.fee, charge.creator_amount, charge.rights_holder_amount, charge.platform_amount) == (
        25,
        -25,
        17,  # floor(25 * 0.7); the platform keeps the rounding remainder
        8,
    )
    lines = {e.party: e for e in RoyaltyEntry.objects.filter(job_id=1)}
    assert set(lines) == {"creator", "rights_holder", "platform"}
    assert lines["creator"].account == creator and lines["rights_holder"].account == character.owner
    assert lines["platform"].account is None
    assert ledger_sum() == 0
    assert royalty_balance(party=RoyaltyParty.CREATOR, account=creator) == -25
    assert royalty_balance(party=RoyaltyParty.RIGHTS_HOLDER, account=character.owner) == 17
    assert royalty_balance(party=RoyaltyParty.PLATFORM) == 8
    royalty = Notification.objects.get(recipient=character.owner, kind="royalty")
    assert royalty.data["amount"] == 17


@pytest.mark.django_db
def test_charging_the_same_job_twice_charges_once():
    character = CharacterFactory()
    creator = UserFactory()
    first = services.royalty_charge(job_id=7, cameo=character, creator=creator)
    again = services.royalty_charge(job_id=7, cameo=character, creator=creator)
    assert first.created and not again.created
    assert (again.fee, again.creator_amount) == (first.fee, first.creator_amount)
    assert RoyaltyEntry.objects.filter(job_id=7).count() == 3


@pytest.mark.django_db
def test_a_refund_writes_the_mirror_lines_once():
    character = CharacterFactory()
    creator = UserFactory()
    services.royalty_charge(job_id=8, cameo=character, creator=creator)
    reversal = services.royalty_reverse(job_id=8, cameo=character)
    assert reversal.created and reversal.creator_amount == 10
    assert not services.royalty_reverse(job_id=8, cameo=character).created
    assert RoyaltyEntry.objects.filter(job_id=8).count() == 6
    assert royalty_balance(party=RoyaltyParty.CREATOR, account=creator) == 0
    assert royalty_balance(party=RoyaltyParty.RIGHTS_HOLDER, account=character.owner) == 0
    assert services.royalty_reverse(job_id=999, cameo=character) is None


@pytest.mark.django_db
def test_nothing_is_owed_for_free_characters_other_kinds_or_the_holders_own_generation():
    free = CharacterFactory(licence__fee_credits=0)
    paid = CharacterFactory()
    person = CameoFactory()
    creator = UserFactory()
    assert services.royalty_charge(job_id=1, cameo=free, creator=creator) is None
    assert services.royalty_charge(job_id=1, cameo=person, creator=creator) is None
    assert services.royalty_charge(job_id=1, cameo=paid, creator=paid.owner) is None
    assert not RoyaltyEntry.objects.exists()
    assert services.royalty_quote(cameos=[free, paid, person]) == 10


class TestLedgerBalances(TestCase):
    """Whatever the fees, shares and refunds, every party's lines sum to zero overall."""

    @settings(max_examples=25, deadline=None)
    @given(
        charges=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 10_000), st.booleans()), min_size=1, max_size=6)
    )
    def test_the_ledger_always_balances(self, charges):
        creator = UserFactory()
        for job_id, (fee, share, refunded) in enumerate(charges, start=1):
            character = CharacterFactory(licence__fee_credits=fee, licence__rights_holder_share_bps=share)
            charge = services.royalty_charge(job_id=job_id, cameo=character, creator=creator)
            if fee:
                assert charge.creator_amount + charge.rights_holder_amount + charge.platform_amount == 0
                assert charge.rights_holder_amount == fee * share // 10_000
            if refunded:
                services.royalty_reverse(job_id=job_id, cameo=character)
            assert ledger_sum(job_id=job_id) == 0
        assert ledger_sum() == 0
        paid = sum(fee for fee, _, refunded in charges if not refunded)
        assert royalty_balance(party=RoyaltyParty.CREATOR, account=creator) == -paid
