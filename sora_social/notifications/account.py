"""What notifications exports and erases when a user leaves, and how the user hears that their
export is ready (registered on users.ports in NotificationsConfig).

Erasing runs last (see users.ports): the take-downs before it notify the people whose videos
went. The user's own stream (and its counter) is deleted. Notifications they caused in other
people's streams stay, since they tell those people what happened to their things, but lose the
person: the actor is detached, "@handle" in the text becomes "A deleted account", and the
handle is taken out of their data.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from sora_social.notifications.models import Notification, NotificationCounter, NotificationKind
from sora_social.notifications.services import notify
from sora_social.users.models import User
from sora_social.users.ports import ExportSection

DELETED_ACTOR = "A deleted account"


def _without_handle(text: str, handle: str) -> str:
    mention = f"@{handle}"
    if text.startswith(mention):
        text = DELETED_ACTOR + text[len(mention) :]
    return text.replace(mention, DELETED_ACTOR.lower())


@transaction.atomic
def notifications_erase_for_account(*, user: User) -> dict[str, int]:
    received, _ = Notification.objects.filter(recipient=user).delete()
    NotificationCounter.objects.filter(user=user).delete()
    rewritten = 0
    for notification in Notification.objects.filter(actor=user).order_by("pk"):
        notification.actor = None
        notification.text = _without_handle(notification.text, user.handle)[:300]
        data = dict(notification.data)
        for key, value in data.items():
            if value == user.handle:  # e.g. new_follower's "follower_handle"
                data[key] = None
            elif isinstance(value, str) and f"@{user.handle}" in value:
                data[key] = _without_handle(value, user.handle)
        notification.data = data
        notification.save(update_fields=["actor", "text", "data"])
        rewritten += 1
    return {"notifications.received_deleted": received, "notifications.sent_anonymised": rewritten}


def notifications_export_for_account(*, user: User) -> Iterable[ExportSection]:
    rows = Notification.objects.filter(recipient=user).select_related("actor").order_by("seq")
    data = [
        {
            "seq": n.seq,
            "kind": n.kind,
            "text": n.text,
            "actor": n.actor.handle if n.actor else None,
            "data": n.data,
            "target": {"type": n.target_type, "id": n.target_id} if n.target_type else None,
            "created_at": n.created_at,
            "read_at": n.read_at,
            "hidden": n.hidden_at is not None,
        }
        for n in rows
    ]
    return [ExportSection(name="notifications", data=data)]


def notify_export_ready(*, user: User, export_id: int) -> None:
    notify(
        recipient=user,
        kind=NotificationKind.ACCOUNT_EXPORT_READY,
        data={"export_id": export_id},
        target=("account_export", export_id),
    )
