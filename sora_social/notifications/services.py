"""notify(): the one way anything tells a user something.

A notification is numbered in its recipient's stream under a row lock, stored, and pushed to
the recipient's websocket group only after the surrounding transaction commits. Progress
updates (persist=False) are pushed but not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from sora_social.notifications import ports
from sora_social.notifications.kinds import likers_phrase, render
from sora_social.notifications.models import Notification, NotificationCounter, NotificationKind
from sora_social.users.models import Block, User

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"


def token_group(token_id: int) -> str:
    """The websockets opened with one bearer token (closed when it is revoked)."""
    return f"notifications.token.{token_id}"


def api_key_group(key_id: int) -> str:
    """The websockets opened with one app's API key (closed when it is revoked)."""
    return f"notifications.apikey.{key_id}"


def sockets_close_for_tokens(*, token_ids: Iterable[int]) -> None:
    """Close every websocket opened with these tokens (code 4401), once the caller's transaction
    commits. Best effort: a socket that misses the message finds out at its next token check."""
    _close_groups_on_commit([token_group(token_id) for token_id in token_ids])


def sockets_close_for_api_keys(*, key_ids: Iterable[int]) -> None:
    """The same for the websockets opened with these (revoked) API keys."""
    _close_groups_on_commit([api_key_group(key_id) for key_id in key_ids])


def _close_groups_on_commit(groups: list[str]) -> None:
    def close() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in groups:
            try:
                async_to_sync(layer.group_send)(group, {"type": "token.revoked"})
            except Exception:
                logger.exception("closing the websockets of %s failed", group)

    if groups:
        transaction.on_commit(close)


def notification_payload(notification: Notification) -> dict[str, Any]:
    actor = notification.actor
    return {
        "id": notification.pk,
        "seq": notification.seq,
        "kind": notification.kind,
        "text": notification.text,
        "actor": {"handle": actor.handle, "display_name": actor.display_name} if actor else None,
        "data": notification.data,
        "target": (
            {"type": notification.target_type, "id": notification.target_id} if notification.target_type else None
        ),
        "replaces_seq": notification.data.get("replaces_seq"),
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def _send(user_id: int, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), message)
    except Exception:  # delivery is best effort; the stored row is replayed on reconnect
        logger.exception("websocket push to user %s failed", user_id)


def _next_seq(recipient_id: int) -> int:
    NotificationCounter.objects.get_or_create(user_id=recipient_id)
    # The UPDATE takes the row lock until commit, so one recipient's notifications commit in
    # seq order and a client resuming after seq N never misses one committed later below N.
    NotificationCounter.objects.filter(user_id=recipient_id).update(last_seq=F("last_seq") + 1)
    return NotificationCounter.objects.values_list("last_seq", flat=True).get(user_id=recipient_id)


@transaction.atomic
def notify(
    *,
    recipient: User,
    kind: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    text: str | None = None,
    target: tuple[str, int] | None = None,
    group_key: str = "",
    persist: bool = True,
) -> Notification | None:
    """Tell `recipient` something. Returns the stored notification, or None if nothing is stored."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    data = dict(data or {})
    if actor is not None:
        if actor.pk == recipient.pk:
            return None  # nobody is told about their own actions
        if Block.objects.filter(
            Q(blocker_id=recipient.pk, blocked_id=actor.pk) | Q(blocker_id=actor.pk, blocked_id=recipient.pk)
        ).exists():
            return None

    if not persist:
        message = {
            "type": "notification.ephemeral",
            "payload": {
                "kind": kind,
                "text": text or render(kind, actor.handle if actor else None, data),
                "data": data,
            },
        }
        transaction.on_commit(lambda: _send(recipient.pk, message))
        return None

    seq = _next_seq(recipient.pk)  # also serialises concurrent aggregation for this recipient
    previous = None
    if group_key:
        previous = (
            Notification.objects.filter(
                recipient=recipient, group_key=group_key, superseded=False, read_at__isnull=True, hidden_at__isnull=True
            )
            .order_by("-seq")
            .first()
        )
        count = (previous.data.get("count", 1) + 1) if previous else 1
        data["count"] = count
        if kind == NotificationKind.LIKES:
            data["likers"] = likers_phrase(actor.handle if actor else "someone", count)
        if previous:
            data["replaces_seq"] = previous.seq
            Notification.objects.filter(pk=previous.pk).update(superseded=True)

    notification = Notification.objects.create(
        recipient=recipient,
        seq=seq,
        kind=kind,
        actor=actor,
        text=text or render(kind, actor.handle if actor else None, data),
        data=data,
        target_type=target[0] if target else "",
        target_id=target[1] if target else None,
        group_key=group_key,
        replaces=previous,
    )
    message = {"type": "notification.stored", "seq": seq, "payload": notification_payload(notification)}
    transaction.on_commit(lambda: _send(recipient.pk, message))
    ports.notification_stored(notification)
    return notification


@transaction.atomic
def notifications_mark_read(*, user: User, seqs: list[int] | None = None, up_to_seq: int | None = None) -> int:
    """Mark some or all of a user's notifications read. Returns how many changed."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if seqs is not None:
        rows = rows.filter(seq__in=seqs)
    if up_to_seq is not None:
        rows = rows.filter(seq__lte=up_to_seq)
    return rows.update(read_at=timezone.now())


@transaction.atomic
def notifications_hide_for_target(*, target_type: str, target_id: int) -> int:
    """Hide every notification about something taken down (a removed post, say)."""
    return Notification.objects.filter(target_type=target_type, target_id=target_id, hidden_at__isnull=True).update(
        hidden_at=timezone.now()
    )


@transaction.atomic
def notifications_unhide_for_target(*, target_type: str, target_id: int) -> int:
    return Notification.objects.filter(target_type=target_type, target_id=target_id).update(hidden_at=None)
