"""The case layer's side of the ports that lower apps define (registered in ModerationConfig.ready())."""

from __future__ import annotations

from typing import Any

from moderation import services


def policy_review(*, video_id: int, creator_id: int, job_id: int, policy: dict[str, Any]) -> None:
    """generation: a finished video a policy layer wants a person to look at. Opens (or joins)
    the video's case, called inside the job's completing transaction."""
    services.case_open_for_policy_review(video_id=video_id, creator_id=creator_id, job_id=job_id, policy=policy)
