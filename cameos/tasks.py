"""Celery tasks of the cameos app: thin and idempotent. They run on the `default` queue
(CELERY_TASK_DEFAULT_QUEUE); only generation's task is routed to `gpu`."""

from __future__ import annotations

from celery import shared_task

from cameos.verification import cameo_verify


@shared_task(
    name="cameos.verify",
    acks_late=True,
    autoretry_for=(OSError,),  # storage hiccups; a refused clip is a result, not an error
    retry_backoff=True,
    max_retries=3,
)
def cameo_verify_task(cameo_id: int) -> str:
    cameo = cameo_verify(cameo_id=cameo_id)
    return cameo.status if cameo is not None else "missing"
