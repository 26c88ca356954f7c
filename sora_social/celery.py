"""The Celery app: queues `gpu` (generation) and `default`, with beat for periodic work."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_social.settings")

app = Celery("sora_social")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up_worker_process(**_: object) -> None:
    """Each worker process loads the models of the queues it consumes (the video model on
    `gpu`, the face detector and embeddings on `default`) before it takes its first task.
    Infrastructure, not business logic: the one place a Celery signal is used."""
    if os.environ.get("SORA_WARMUP", "1") == "0":
        return
    from sora_social.common import warmup

    queues = {queue.name for queue in app.amqp.queues.consume_from.values()} if app.amqp.queues else set()
    warmup.run(*(role for role in warmup.ROLES if role in queues))
