"""What idempotency erases when a user leaves (registered on users.ports in IdempotencyConfig).

A record keeps the response a creating POST got, for a day: a comment's text, a post's caption,
a cameo's name. Nothing of it is worth exporting (it repeats what the other apps export), but it
must not outlive the account, so deletion drops the user's records at once."""

from __future__ import annotations

from django.db import transaction

from sora_social.idempotency.models import IdempotencyRecord
from sora_social.users.models import User


@transaction.atomic
def idempotency_erase_for_account(*, user: User) -> dict[str, int]:
    deleted, _ = IdempotencyRecord.objects.filter(user=user).delete()
    return {"idempotency.records_deleted": deleted}
