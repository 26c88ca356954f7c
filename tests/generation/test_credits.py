"""The credits ledger: daily free allowance at local midnight, paid credits, exactly-once moves."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from generation import credits
from generation.models import CreditEntry, GenerationJob
from sora_social.common.errors import ApplicationError
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_job(user, seconds=4):
    return GenerationJob.objects.create(
        user=user,
        prompt="a red ball bounces",
        seed=1,
        seconds=seconds,
        width=720,
        height=1280,
        backend="embedded",
        model="",
    )


def test_free_allowance_is_spent_first_then_paid(settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 2
    user = UserFactory()
    credits.credits_purchase(user=user, amount=5, receipt_id="rcpt-1")
    for _ in range(3):
        credits.credits_reserve(job=make_job(user), amount=1)
    balance = credits.credit_balance(user=user)
    assert (balance.free_remaining, balance.paid, balance.available) == (0, 4, 4)


def test_a_reservation_can_split_across_pools(settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 2
    user = UserFactory()
    credits.credits_purchase(user=user, amount=5, receipt_id="rcpt-split")
    job = make_job(user, seconds=12)
    credits.credits_reserve(job=job, amount=3)
    rows = {(e.pool, e.amount) for e in CreditEntry.objects.filter(job=job)}
    assert rows == {("free", -2), ("paid", -1)}
    assert credits.credits_refund(job=job) == 3
    balance = credits.credit_balance(user=user)
    assert (balance.free_remaining, balance.paid) == (2, 5)


def test_not_enough_credits_is_402_and_writes_nothing(settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 1
    user = UserFactory()
    job = make_job(user)
    with pytest.raises(ApplicationError) as refused:
        credits.credits_reserve(job=job, amount=2)
    assert refused.value.code == "insufficient_credits"
    assert refused.value.status_code == 402
    assert not CreditEntry.objects.exists()


def test_settle_and_refund_happen_once_each():
    user = UserFactory()
    job = make_job(user)
    credits.credits_reserve(job=job, amount=1)
    assert credits.credits_settle(job=job) == 1
    assert credits.credits_settle(job=job) == 0
    other = make_job(user)
    credits.credits_reserve(job=other, amount=1)
    assert credits.credits_refund(job=other) == 1
    assert credits.credits_refund(job=other) == 0
    assert CreditEntry.objects.filter(job=other, kind="refund").count() == 1
    # The database itself refuses a second reservation or refund for the same job and pool.
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditEntry.objects.create(
            user=user, job=other, pool="free", kind="refund", amount=1, local_day=datetime.now().date()
        )


def test_the_free_allowance_resets_at_the_users_local_midnight(settings, monkeypatch):
    settings.GENERATION_DAILY_FREE_CREDITS = 1
    user = UserFactory(timezone="Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    late_evening = datetime(2026, 3, 10, 23, 30, tzinfo=tokyo)
    monkeypatch.setattr(credits.timezone, "now", lambda: late_evening)
    credits.credits_reserve(job=make_job(user), amount=1)
    assert credits.credit_balance(user=user).free_remaining == 0
    assert credits.next_reset(user) == datetime(2026, 3, 11, 0, 0, tzinfo=tokyo)
    # 31 minutes later it is a new day in Tokyo (while still the 10th in UTC): allowance back.
    monkeypatch.setattr(credits.timezone, "now", lambda: late_evening + timedelta(minutes=31))
    assert credits.credit_balance(user=user).free_remaining == 1


def test_purchases_are_idempotent_per_receipt():
    user, other = UserFactory(), UserFactory()
    first = credits.credits_purchase(user=user, amount=10, receipt_id="rcpt-9")
    again = credits.credits_purchase(user=user, amount=10, receipt_id="rcpt-9")
    assert first.pk == again.pk
    assert credits.credit_balance(user=user).paid == 10
    with pytest.raises(ApplicationError) as reused:
        credits.credits_purchase(user=other, amount=10, receipt_id="rcpt-9")
    assert reused.value.code == "receipt_reused"


def test_balance_and_ledger_endpoints(client_for, settings):
    settings.GENERATION_DAILY_FREE_CREDITS = 30
    user = UserFactory()
    credits.credits_purchase(user=user, amount=7, receipt_id="rcpt-api")
    api = client_for(user)
    balance = api.get("/api/v1/credits").json()
    assert balance["free_remaining"] == 30 and balance["paid"] == 7 and balance["available"] == 37
    ledger = api.get("/api/v1/credits/ledger").json()["results"]
    assert [(e["kind"], e["amount"]) for e in ledger] == [("purchase", 7)]


def test_only_staff_grant_credits(client_for):
    user, staff = UserFactory(handle="getter"), UserFactory(is_staff=True)
    refused = client_for(user).post(
        "/api/v1/credits/grants", {"handle": "getter", "amount": 5, "note": "x"}, format="json"
    )
    assert refused.status_code == 403
    granted = client_for(staff).post(
        "/api/v1/credits/grants", {"handle": "getter", "amount": 5, "note": "sorry for the outage"}, format="json"
    )
    assert granted.status_code == 201 and granted.json()["paid"] == 5
    assert "by @" in CreditEntry.objects.get(user=user).note
