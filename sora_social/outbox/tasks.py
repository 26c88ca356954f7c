from celery import shared_task

from sora_social.outbox.services import outbox_relay


@shared_task(name="outbox.relay")
def outbox_relay_task() -> dict[str, int]:
    """Publish messages whose on-commit send failed (the broker was down). Periodic."""
    return outbox_relay()
