"""Ports: how apps above notifications say whether a notification's target is still visible.

Notifications calls no other app, yet a notification about a post the recipient may no longer
see (made private, age-restricted, the author blocked) must not show it. The app owning a
target type registers a check here (feed does, for "post" and "comment", in its AppConfig).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sora_social.notifications.models import Notification

# (viewer_id, target ids) -> the ids the viewer may see
VisibilityCheck = Callable[[int, list[int]], set[int]]
_checks: dict[str, VisibilityCheck] = {}


def register_target_visibility(target_type: str, check: VisibilityCheck) -> None:
    _checks[target_type] = check


def visible_targets(viewer_id: int, targets: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which (type, id) targets the viewer may see; types nobody registered count as visible."""
    by_type: dict[str, set[int]] = {}
    for target_type, target_id in targets:
        by_type.setdefault(target_type, set()).add(target_id)
    visible: set[tuple[str, int]] = set()
    for target_type, ids in by_type.items():
        check = _checks.get(target_type)
        seen = check(viewer_id, sorted(ids)) if check is not None else ids
        visible |= {(target_type, i) for i in seen}
    return visible


# (notification) -> None: a notification was stored, inside the caller's transaction. Apps above
# forward some kinds elsewhere (webhooks push social events to the recipient's apps).
NotificationListener = Callable[["Notification"], None]
_listeners: list[NotificationListener] = []


def register_notification_listener(listener: NotificationListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def notification_stored(notification: Notification) -> None:
    for listener in tuple(_listeners):
        listener(notification)
