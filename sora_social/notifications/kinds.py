"""How each kind of notification reads, in words a person reads."""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, str] = {
    "cameo_used": "@{actor} put your cameo {cameo_name} in a video",
    "cameo_request": "@{actor} asked to use your cameo {cameo_name}",
    "cameo_request_decided": "@{actor} {decision} your request to use {cameo_name}",
    "cameo_verification": "Your cameo {cameo_name} is {outcome}{detail}",
    "cameo_appearance_removed": "@{actor} removed your video featuring their cameo: {reason}",
    "post_remixed": "@{actor} remixed your post",
    "comment": "@{actor} commented: {excerpt}",
    "reply": "@{actor} replied: {excerpt}",
    "new_follower": "@{actor} started following you",
    "likes": "{likers} liked your post",
    "generation_progress": "Your video is {progress}% done",
    "generation_completed": "Your video is ready",
    "generation_failed": "Your video could not be made: {message}",
    "moderation_decision": "Moderation: {summary}",
    "royalty": "You earned {amount} credits from {cameo_name}",
    "account_export_ready": "Your data export is ready to download",
}


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def render(kind: str, actor_handle: str | None, data: dict[str, Any]) -> str:
    template = TEMPLATES.get(kind, kind.replace("_", " "))
    return template.format_map(_Missing(data, actor=actor_handle or "someone"))[:300]


def likers_phrase(latest_handle: str, total: int) -> str:
    if total <= 1:
        return f"@{latest_handle}"
    others = total - 1
    return f"@{latest_handle} and {others} other{'s' if others != 1 else ''}"
