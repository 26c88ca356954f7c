"""The events an app can subscribe to, and the notification kinds the social ones come from."""

from __future__ import annotations

VIDEO_COMPLETED = "video.completed"
VIDEO_FAILED = "video.failed"
VIDEO_EVENTS = (VIDEO_COMPLETED, VIDEO_FAILED)

# notification kind -> event type: what happens to the endpoint owner that an app may act on.
SOCIAL_EVENTS_BY_KIND = {
    "new_follower": "follower.created",
    "comment": "comment.created",
    "reply": "comment.replied",
    "post_remixed": "post.remixed",
    "cameo_used": "cameo.used",
    "cameo_request": "cameo.requested",
}
SOCIAL_EVENTS = tuple(SOCIAL_EVENTS_BY_KIND.values())
TEST_EVENT = "webhook.test"  # sent on request (POST /webhooks/{id}/test), to every endpoint asked
ALL_EVENTS = (*VIDEO_EVENTS, *SOCIAL_EVENTS)
