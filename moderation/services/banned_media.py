"""The banned-media list fed by removals: a removed video's frame hashes, keyed by the action."""

from __future__ import annotations

from django.db import transaction

from moderation.constants import ActionKind, TargetType
from moderation.models import Action


def ban_source(action_id: int) -> str:
    return f"action:{action_id}"


@transaction.atomic
def banned_media_add_for_action(*, action_id: int) -> int:
    """Put a removed video's frame hashes on the banned list (source "action:<id>"), so a
    re-upload or a regenerated copy is caught by the media check. Returns how many hashes.

    Skipped if the removal has been reversed meanwhile (an appeal won before this ran)."""
    from moderation.media import video_file_hashes
    from moderation.policy.services import banned_media_add

    action = Action.objects.filter(pk=action_id, kind=ActionKind.REMOVE).first()
    if action is None or Action.objects.filter(reverses_id=action_id).exists():
        return 0
    video_id = action.details.get("video_id") if action.target_type == TargetType.POST else action.target_id
    if action.target_type not in (TargetType.POST, TargetType.VIDEO) or not video_id:
        return 0
    from generation.models import Video

    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return 0
    with video.file.open("rb") as handle:
        hashes = video_file_hashes(handle, frame_count=video.frame_count)
    if not hashes:
        return 0
    rows = banned_media_add(hashes=hashes, reason=action.reason, source=ban_source(action.pk))
    return len(rows)
