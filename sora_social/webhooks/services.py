"""Webhooks: an app's endpoints, the events they receive, and delivery with retries.

An event (`webhook_event_emit`) becomes one `WebhookDelivery` row per endpoint that wants it,
written in the transaction the event is about, and a `webhooks.deliver` message sent through the
outbox on commit (queue `default`). The task claims the row with a lease, POSTs the JSON body
signed by the Standard Webhooks scheme (`signing.py`), and records the attempt; a failed attempt
(not 2xx, a timeout, a refused connection) is tried again after WEBHOOK_RETRY_BASE_S doubling
per attempt (capped at WEBHOOK_RETRY_MAX_S) until WEBHOOK_MAX_ATTEMPTS, its message sent through
the outbox with a countdown, with the same `webhook-id` each time, so a receiver can drop
duplicates. `webhooks.deliveries_sweep` (beat) re-sends what is overdue (a worker that died
mid-attempt).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import random
import socket
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import status

from sora_social.common.errors import ApplicationError
from sora_social.outbox.services import outbox_send_on_commit
from sora_social.users.models import User
from sora_social.webhooks import events, signing
from sora_social.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, new_event_id

if TYPE_CHECKING:
    from generation.models import GenerationJob
    from sora_social.notifications.models import Notification

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
ATTEMPT_LOG_KEEP = 20


# --- endpoints ---------------------------------------------------------------------------------


def check_url(url: str) -> None:
    """`invalid_webhook_url` unless `url` is http(s) (400: the schema says so), a URL by Django's
    rules with a host, https when WEBHOOK_REQUIRE_HTTPS, and, unless WEBHOOK_ALLOW_PRIVATE_URLS,
    its host resolves only to public addresses: the server must not be made to POST into its own
    network (422: rules no schema states). Checked again before every attempt."""

    def refuse(why: str, status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY) -> ApplicationError:
        return ApplicationError(
            "invalid_webhook_url", f"The webhook URL {why}.", status_code=status_code, fields={"url": [why]}
        )

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise refuse("must be an http(s) URL", status.HTTP_400_BAD_REQUEST)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError as exc:
        raise refuse("is not a URL this server can call (a valid host is needed)") from exc
    if not parts.hostname:
        raise refuse("has no host")
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise refuse("must be https")
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)}
    except (OSError, ValueError) as exc:
        raise refuse("has a host that does not resolve") from exc
    if not addresses or any(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        raise refuse("points at a private, loopback or reserved address")


def _check_events(requested: Sequence[str], allowed: Sequence[str]) -> list[str]:
    unknown = [e for e in requested if e not in events.ALL_EVENTS]
    if unknown:
        raise ApplicationError(
            "invalid_event_type",
            f"Unknown event type {unknown[0]!r}; known: {', '.join(events.ALL_EVENTS)}.",
            fields={"events": [f"Unknown: {', '.join(unknown)}."]},
        )
    refused = [e for e in requested if e not in allowed]
    if refused:
        raise ApplicationError(
            "event_type_not_allowed",
            f"This API key's scopes do not cover {refused[0]!r}.",
            status_code=status.HTTP_403_FORBIDDEN,
            fields={"events": [f"Not allowed: {', '.join(refused)}."]},
        )
    return list(dict.fromkeys(requested))


@transaction.atomic
def webhook_endpoint_create(
    *,
    user: User,
    url: str,
    events_wanted: Sequence[str] = (),
    description: str = "",
    allowed_events: Sequence[str] = events.ALL_EVENTS,
) -> WebhookEndpoint:
    """Register an endpoint; it gets a fresh `whsec_` secret. `allowed_events`: what the caller
    may subscribe to (an API key's scopes narrow it); no events named = all allowed ones."""
    check_url(url)
    wanted = _check_events(events_wanted, allowed_events)
    if not wanted and tuple(allowed_events) != events.ALL_EVENTS:
        wanted = list(allowed_events)  # "everything" for a narrowed caller: everything it may receive
    # Count under a lock.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True).get()
    if WebhookEndpoint.objects.filter(user=user).count() >= settings.WEBHOOK_MAX_ENDPOINTS:
        raise ApplicationError(
            "too_many_webhooks",
            f"At most {settings.WEBHOOK_MAX_ENDPOINTS} webhook endpoints; delete one first.",
            status_code=status.HTTP_409_CONFLICT,
        )
    return WebhookEndpoint.objects.create(
        user=user, url=url, events=wanted, description=description, secret=signing.new_secret()
    )


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its delivery log; attempts already claimed find no row and stop."""
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret from now on: attempts made after this are signed with it."""
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


# --- events ------------------------------------------------------------------------------------


def _payload(event_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    # OpenAI's webhook event shape: {"id", "object": "event", "type", "created_at", "data"}.
    return {"id": event_id, "object": "event", "type": event_type, "created_at": int(time.time()), "data": data}


def webhook_event_emit(*, user_id: int, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue `event_type` for every live endpoint of `user_id` that wants it, on commit of the
    caller's transaction (an event that is rolled back is never sent). Called on every video
    finished and every social notification: one indexed read when the user has no endpoint."""
    endpoints = [
        e for e in WebhookEndpoint.objects.filter(user_id=user_id, disabled_at__isnull=True) if e.wants(event_type)
    ]
    if not endpoints:
        return []
    event_id = new_event_id()
    payload = _payload(event_id, event_type, data)
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(endpoint=e, event_id=event_id, event_type=event_type, payload=payload) for e in endpoints]
        )
        for delivery in deliveries:
            outbox_send_on_commit(task=DELIVER_TASK, args=[delivery.pk], queue="default")
    return deliveries


@transaction.atomic
def webhook_test_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint alone, whatever it subscribes to."""
    event_id = new_event_id()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event_type=events.TEST_EVENT,
        payload=_payload(event_id, events.TEST_EVENT, {"endpoint_id": endpoint.pk}),
    )
    outbox_send_on_commit(task=DELIVER_TASK, args=[delivery.pk], queue="default")
    return delivery


def on_job_finished(job: GenerationJob) -> None:
    """generation's port: a video job ended. `data` is OpenAI's: the video's id."""
    event_type = events.VIDEO_COMPLETED if job.status == "succeeded" else events.VIDEO_FAILED
    webhook_event_emit(user_id=job.user_id, event_type=event_type, data={"id": job.public_id})


def on_notification(notification: Notification) -> None:
    """notifications' port: the social kinds worth pushing become events for the recipient."""
    event_type = events.SOCIAL_EVENTS_BY_KIND.get(notification.kind)
    if event_type is None:
        return
    actor = notification.actor
    webhook_event_emit(
        user_id=notification.recipient_id,
        event_type=event_type,
        data={
            "notification_seq": notification.seq,
            "text": notification.text,
            "actor": {"id": actor.pk, "handle": actor.handle} if actor else None,
            "target": {"type": notification.target_type, "id": notification.target_id}
            if notification.target_type
            else None,
            "details": notification.data,
        },
    )


# --- delivery ----------------------------------------------------------------------------------


def retry_delay_s(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: the base doubling per attempt, capped, +-10 %."""
    delay = min(settings.WEBHOOK_RETRY_BASE_S * 2 ** max(attempts - 1, 0), settings.WEBHOOK_RETRY_MAX_S)
    return delay * random.uniform(0.9, 1.1)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the next attempt of a due delivery, under a lease (a second message for the same
    delivery, or the sweep, finds it not due); None if it is not due or gone."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_S + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One signed POST: (HTTP status or None, error or "")."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        **signing.headers(secret=endpoint.secret, message_id=delivery.event_id, timestamp=int(time.time()), body=body),
        "content-type": "application/json",
        "user-agent": "sora_social-webhooks/1",
    }
    try:
        check_url(endpoint.url)  # again: what the host resolves to may have changed
        response = httpx.post(
            endpoint.url, content=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_S, follow_redirects=False
        )
    except ApplicationError as exc:
        return None, exc.message
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return response.status_code, "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Make the due attempt of one delivery and record it (the task's body; idempotent: a
    delivery that is not due, finished or gone is left alone). Not one transaction: the POST
    happens between the claim and the record, holding no lock and no connection open."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    if delivery.endpoint.disabled_at is not None:
        status_code, error = None, "The endpoint is disabled."
        duration_ms = 0
    else:
        started = time.monotonic()
        status_code, error = _post(delivery)
        duration_ms = round((time.monotonic() - started) * 1000)
    return _record(delivery, status_code=status_code, error=error, duration_ms=duration_ms)


@transaction.atomic
def _record(delivery: WebhookDelivery, *, status_code: int | None, error: str, duration_ms: int) -> WebhookDelivery:
    row = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
    if row is None:  # the endpoint was deleted meanwhile
        return delivery
    now = timezone.now()
    entry = {"at": now.isoformat(), "status_code": status_code, "error": error, "duration_ms": duration_ms}
    row.attempt_log = [*row.attempt_log, entry][-ATTEMPT_LOG_KEEP:]
    row.response_status = status_code
    row.last_error = error[:300]
    if not error:
        row.status, row.delivered_at = DeliveryStatus.SUCCEEDED, now
    elif row.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or row.endpoint.disabled_at is not None:
        row.status = DeliveryStatus.FAILED
    else:
        delay = math.ceil(retry_delay_s(row.attempts))
        row.next_attempt_at = now + timedelta(seconds=delay)
        # The next attempt's message, through the outbox with a countdown: it commits with this
        # record, so it cannot be lost between the two.
        outbox_send_on_commit(task=DELIVER_TASK, args=[row.pk], queue="default", countdown_s=delay)
    row.save(
        update_fields=["attempt_log", "response_status", "last_error", "status", "delivered_at", "next_attempt_at"]
    )
    if error:
        logger.info(
            "webhook %s to endpoint %s: attempt %s failed: %s", row.event_id, row.endpoint_id, row.attempts, error
        )
    return row


@transaction.atomic
def webhook_deliveries_sweep() -> int:
    """Re-send deliveries overdue by WEBHOOK_SWEEP_GRACE_S (a worker died mid-attempt and its
    lease ran out, or a message was dropped after publishing). Returns how many."""
    overdue = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_S)
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=overdue)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    for delivery_id in ids:
        outbox_send_on_commit(task=DELIVER_TASK, args=[delivery_id], queue="default")
    return len(ids)
