from celery import shared_task

from sora_social.idempotency.services import idempotency_records_purge_expired


@shared_task(name="idempotency.records_purge_expired")
def idempotency_records_purge_expired_task() -> int:
    return idempotency_records_purge_expired()
