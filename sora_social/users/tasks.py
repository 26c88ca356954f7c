from celery import shared_task

from sora_social.users.services import account_export_build, account_exports_purge_expired, tokens_purge_expired


@shared_task(name="users.tokens_purge_expired")
def tokens_purge_expired_task() -> int:
    return tokens_purge_expired()


@shared_task(name="users.account_export_build")
def account_export_build_task(export_id: int) -> str | None:
    """Build one data export (default queue). Idempotent: a finished export is left alone."""
    export = account_export_build(export_id=export_id)
    return export.status if export is not None else None


@shared_task(name="users.account_exports_purge_expired")
def account_exports_purge_expired_task() -> int:
    return account_exports_purge_expired()
