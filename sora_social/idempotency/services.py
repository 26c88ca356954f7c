"""Write use-cases of the idempotency records."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from sora_social.idempotency.models import IdempotencyRecord
from sora_social.users.models import User


def idempotency_record_claim(
    *, user: User, key: str, method: str, path: str, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """Claim `key` for this request, or find who has it. Returns (record, claimed).

    Call inside the transaction that does the write: the row is only visible to others once
    that commits, and a concurrent claim waits for it on the unique constraint."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user, key=key, method=method, path=path, fingerprint=fingerprint
            )
        return record, True
    except IntegrityError:
        return IdempotencyRecord.objects.get(user=user, key=key, path=path), False


def idempotency_record_complete(*, record: IdempotencyRecord, status_code: int, body: object) -> None:
    record.response_status = status_code
    record.response_body = body
    record.save(update_fields=["response_status", "response_body"])


def idempotency_record_release(*, record: IdempotencyRecord) -> None:
    """The request did not succeed: nothing to replay, the key may be used again."""
    record.delete()


@transaction.atomic
def idempotency_records_purge_expired() -> int:
    """Delete records past IDEMPOTENCY_KEY_TTL: a retry after that is a new request."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_S)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
