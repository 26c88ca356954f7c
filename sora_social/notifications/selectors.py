from __future__ import annotations

from django.db.models import QuerySet

from sora_social.notifications.models import Notification
from sora_social.users.models import User
from sora_social.users.selectors import blocked_user_ids


def notification_visible_list(*, user: User) -> QuerySet[Notification]:
    """What a user's notification list shows: not hidden, not replaced, nobody blocked."""
    return (
        Notification.objects.filter(recipient=user, hidden_at__isnull=True, superseded=False)
        .exclude(actor_id__in=blocked_user_ids(user))
        .select_related("actor")
    )


def without_invisible_targets(*, user: User, rows: list[Notification]) -> list[Notification]:
    """Drop notifications about something the user can no longer see (checked by the app that
    owns the target, through notifications.ports), keeping the order."""
    from sora_social.notifications.ports import visible_targets

    targets = {(n.target_type, n.target_id) for n in rows if n.target_type and n.target_id is not None}
    if not targets:
        return rows
    visible = visible_targets(user.pk, targets)
    return [n for n in rows if not n.target_type or n.target_id is None or (n.target_type, n.target_id) in visible]


def notifications_after(*, user: User, after_seq: int, limit: int = 500) -> list[Notification]:
    """What a client that saw up to `after_seq` missed, oldest first."""
    rows = list(notification_visible_list(user=user).filter(seq__gt=after_seq).order_by("seq")[:limit])
    return without_invisible_targets(user=user, rows=rows)


UNREAD_COUNT_CAP = 999  # badges show "999+"; counting further would cost more than it tells


def unread_count(*, user: User) -> int:
    unread = list(notification_visible_list(user=user).filter(read_at__isnull=True).order_by("-seq")[:UNREAD_COUNT_CAP])
    return len(without_invisible_targets(user=user, rows=unread))


def last_seq(*, user: User) -> int:
    from sora_social.notifications.models import NotificationCounter

    return NotificationCounter.objects.filter(user=user).values_list("last_seq", flat=True).first() or 0
