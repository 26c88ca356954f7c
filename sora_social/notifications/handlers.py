"""What notifications does when something happens in users (registered on users.ports in
NotificationsConfig.ready, so users never imports notifications)."""

from __future__ import annotations

from sora_social.notifications.services import notify
from sora_social.users.models import Follow


def notify_new_follower(*, follow: Follow) -> None:
    notify(
        recipient=follow.followee,
        kind="new_follower",
        actor=follow.follower,
        data={"follower_handle": follow.follower.handle},
    )
