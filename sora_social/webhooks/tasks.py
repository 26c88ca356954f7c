from celery import shared_task

from sora_social.webhooks.services import webhook_deliveries_sweep, webhook_delivery_attempt


@shared_task(name="webhooks.deliver", ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> None:
    """One attempt of one delivery (the next one is scheduled by the service if it fails)."""
    webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.deliveries_sweep")
def webhook_deliveries_sweep_task() -> int:
    """Re-send deliveries whose message was lost. Periodic."""
    return webhook_deliveries_sweep()
