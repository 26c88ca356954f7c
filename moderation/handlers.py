"""The case layer's side of the ports that lower apps define (registered in ModerationConfig.ready())."""

from __future__ import annotations

from typing import Any

from moderation import services


def policy_review(*, video_id: int, creator_id: int, job_id: int, policy: dict[str, Any]) -> None:
    """generation: a finished video a policy layer wants a person to look at. Opens (or joins)
    the video's case, called inside the job's completing transaction."""
    services.case_open_for_policy_review(video_id=video_id, creator_id=creator_id, job_id=job_id, policy=policy)


def warm_prompt_policy() -> None:
    """Run every prompt layer once on a harmless prompt: each loads its model on first use."""
    from moderation.policy.services import prompt_check

    prompt_check("a red ball bounces twice in a quiet room", cameos=[], viewer_is_minor=False)
    # A prompt in another language loads language identification's model and the multilingual encoder.
    prompt_check("une balle rouge rebondit deux fois dans une pièce calme", cameos=[], viewer_is_minor=False)


def warm_media_policy() -> None:
    """Load the media check's detector (NudeNet's ONNX session) and run it on one blank frame."""
    import numpy as np

    from moderation.policy.media import nudity_scores

    nudity_scores([np.zeros((64, 64, 3), dtype=np.uint8)])
