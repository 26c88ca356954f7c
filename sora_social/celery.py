"""The Celery app: queues `gpu` (generation) and `default`, with beat for periodic work."""

import os

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from sora_social.common import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_social.settings")

app = Celery("sora_social")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The request id from the request to the worker, and the task metrics (common/metrics.py).
metrics.connect_celery(app)


@worker_process_init.connect
def _warm_up_worker_process(**_: object) -> None:
    """Each worker process loads the models of the queues it consumes (the video model on
    `gpu`, the face detector and embeddings on `default`) before it takes its first task.
    Infrastructure, not business logic: with the media drain below, the only Celery signals used."""
    if os.environ.get("SORA_WARMUP", "1") == "0":
        return
    from sora_social.common import warmup

    queues = {queue.name for queue in app.amqp.queues.consume_from.values()} if app.amqp.queues else set()
    warmup.run(*(role for role in warmup.ROLES if role in queues))


@worker_process_shutdown.connect
def _finish_worker_process(**_: object) -> None:
    """What the apps registered to finish before a worker process exits warmly (warmup.py), e.g.
    the gpu worker's media stage: each rendered batch's CPU stages run in threads while the
    process takes its next message. (A killed process leaves its jobs running with a stale
    heartbeat: the reaper's case.)"""
    from sora_social.common import warmup

    warmup.run_shutdown()
