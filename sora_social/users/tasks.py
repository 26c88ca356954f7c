from celery import shared_task

from sora_social.users.services import tokens_purge_expired


@shared_task(name="users.tokens_purge_expired")
def tokens_purge_expired_task() -> int:
    return tokens_purge_expired()
