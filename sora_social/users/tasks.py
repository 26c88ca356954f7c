from celery import shared_task

from sora_social.users.services import (
    account_export_build,
    account_exports_purge_expired,
    password_reset_mail_send,
    tokens_purge_expired,
)


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


@shared_task(name="users.password_reset_mail_send")
def password_reset_mail_send_task(user_id: int) -> bool:
    """Send one password-reset mail (default queue, through the outbox). A retry sends a fresh
    token; any earlier one still works until the password changes."""
    return password_reset_mail_send(user_id=user_id)
