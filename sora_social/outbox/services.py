"""Send Celery messages through the outbox: never lost between the database and the broker.

`outbox_send_on_commit` writes the message in the caller's transaction and publishes it right
after commit (the fast path: one broker round trip, as a plain `.delay()` would). If the broker
cannot be reached then, the request still succeeds and the row waits; `outbox_relay` (a
periodic task) publishes what is pending once the broker answers again. Delivery is
at-least-once (a sender that dies between publishing and marking the row sent is retried after
the claim lease), so every task sent this way is idempotent: it fetches its object by id and
does nothing when there is nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sora_social.common.request_id import current_request_id
from sora_social.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)


def outbox_send_on_commit(
    *, task: str, args: Sequence[object] = (), queue: str = "default", countdown_s: int = 0
) -> OutboxMessage:
    """Queue `task(*args)` on `queue` once the surrounding transaction commits (never before,
    never without it). Call inside the transaction whose outcome the message is about.
    `countdown_s`: the task runs no sooner than that after it is published."""
    request_id = current_request_id.get()
    message = OutboxMessage.objects.create(
        task=task,
        args=list(args),
        queue=queue,
        countdown_s=max(0, countdown_s),
        request_id="" if request_id == "-" else request_id,
    )
    message_id = message.pk
    # robust: a failure here must not turn a committed request into an error; the relay sends it.
    transaction.on_commit(lambda: outbox_send(message_id=message_id), robust=True)
    return message


def _claim_lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_S)


def _claimable() -> Q:
    return Q(sent_at__isnull=True) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=timezone.now() - _claim_lease()))


def _publish(message: OutboxMessage) -> None:
    from sora_social.celery import app

    # The apps' task modules are imported on first need (Celery's autodiscovery is lazy).
    app.loader.import_default_modules()
    task = app.tasks.get(message.task)
    # The request id of the request that caused it, also when the relay sends it much later.
    headers = {"request_id": message.request_id} if message.request_id else None
    if task is not None:
        # The registered task object, so an eager test run executes it in process.
        task.apply_async(args=message.args, queue=message.queue, retry=False, headers=headers, **_delay(message))
    else:
        app.send_task(
            message.task, args=message.args, queue=message.queue, retry=False, headers=headers, **_delay(message)
        )


def _delay(message: OutboxMessage) -> dict[str, int]:
    return {"countdown": message.countdown_s} if message.countdown_s else {}


def _is_eager() -> bool:
    from sora_social.celery import app

    return bool(app.conf.task_always_eager)


def _deliver(message: OutboxMessage) -> bool:
    """Publish one claimed message; True when the broker took it."""
    if _is_eager():
        # In-process execution (tests): it counts as delivered before it runs, and a task's own
        # exception propagates as it would from `.delay()`.
        OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=message.attempts + 1)
        _publish(message)
        return True
    try:
        _publish(message)
    except Exception as exc:  # any failure to hand it to the broker: the row stays pending
        OutboxMessage.objects.filter(pk=message.pk).update(
            claimed_at=None, attempts=message.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:300]
        )
        logger.warning("outbox: %s%s not sent yet (%s); the relay will retry", message.task, message.args, exc)
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=message.attempts + 1)
    return True


def _claim(filter_q: Q, limit: int) -> list[OutboxMessage]:
    """Claim up to `limit` pending messages (committed at once, so the claim is visible to the
    other senders before anything is published)."""
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(filter_q & _claimable())
            .order_by("id")[:limit]
        )
        if rows:
            now = timezone.now()
            OutboxMessage.objects.filter(pk__in=[m.pk for m in rows]).update(claimed_at=now)
    return rows


def outbox_send(*, message_id: int) -> bool:
    """The fast path, right after commit: publish this message unless someone else has it."""
    claimed = _claim(Q(pk=message_id), 1)
    return bool(claimed) and _deliver(claimed[0])


def outbox_relay(*, limit: int = 500) -> dict[str, int]:
    """Publish pending messages, oldest first; purge sent ones past their keep time."""
    sent = failed = 0
    claimed = _claim(Q(), limit)
    for index, message in enumerate(claimed):
        if _deliver(message):
            sent += 1
            continue
        failed += 1
        # The broker is down again: release the rest untried, for the next relay run.
        OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed[index + 1 :]]).update(claimed_at=None)
        break
    purged, _ = OutboxMessage.objects.filter(
        sent_at__lt=timezone.now() - timedelta(seconds=settings.OUTBOX_KEEP_SENT_S)
    ).delete()
    return {"sent": sent, "failed": failed, "purged": purged}
